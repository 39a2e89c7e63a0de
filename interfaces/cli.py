"""The `ledgerdesk` command line: serve the API, seed realistic traffic, print a ticket's history."""
from __future__ import annotations

import argparse
import json
import sys
from uuid import UUID

from .bootstrap import build_ledger, ensure_dev_key, tune_garbage_collector
from .settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {"database_url": args.database} if getattr(args, "database", None) else {}
    return Settings(**overrides)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .http.app import create_app

    settings, dev_key = ensure_dev_key(_settings(args))
    ledger = build_ledger(settings)
    if dev_key:
        print(f"ledgerdesk: no LEDGERDESK_API_KEYS set; development key for tenant 'demo' (kept in {settings.dev_key_path()}):")
        print(f"  export LEDGERDESK_KEY={dev_key}")
    print(f"ledgerdesk: events in {settings.database_url}; API on http://{args.host}:{args.port} (docs at /docs)", flush=True)
    app = create_app(ledger, settings.api_keys, settings.worker_threads)
    tune_garbage_collector()
    uvicorn.run(app, host=args.host, port=args.port, access_log=args.access_log, log_level="info")
    return 0


def history(args: argparse.Namespace) -> int:
    from ledgerdesk.domain.ticket import Ticket

    ledger = build_ledger(_settings(args))
    after = 0
    tenant = args.tenant
    if tenant is None:
        first = next(iter(ledger.events.get(args.ticket_id, limit=1)), None)
        if first is None:
            print(f"no ticket {args.ticket_id}", file=sys.stderr)
            return 1
        tenant = first.meta.tenant
    while True:
        page = ledger.history(tenant, Ticket, args.ticket_id, after, 500)
        for item in page["items"]:
            if args.json:
                print(json.dumps(item, ensure_ascii=False))
            else:
                actor = f"{item['actor']['kind']}:{item['actor']['id']}"
                cause = f" caused by {item['causation_id']}" if item["causation_id"] else ""
                print(f"v{item['version']:<4} {item['occurred_at']}  {item['type']:<28} {actor}{cause}")
                print(f"       {json.dumps(item['data'], ensure_ascii=False)[:200]}")
        if page["next_after_version"] is None:
            return 0
        after = page["next_after_version"]


def seed(args: argparse.Namespace) -> int:
    from .seed import seed_traffic

    ledger = build_ledger(_settings(args))
    seed_traffic(ledger, tickets=args.tickets, seed=args.seed)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ledgerdesk", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    database = {"help": "database URL (default: LEDGERDESK_DATABASE_URL or sqlite:///./ledgerdesk.db)"}

    s = sub.add_parser("serve", help="serve the HTTP API")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--database", **database)
    s.add_argument("--access-log", action="store_true", help="log every request")
    s.set_defaults(func=serve)

    d = sub.add_parser("seed", help="send realistic traffic through the application")
    d.add_argument("--tickets", type=int, default=200)
    d.add_argument("--seed", type=int, default=11, help="random seed, for repeatable traffic")
    d.add_argument("--database", **database)
    d.set_defaults(func=seed)

    h = sub.add_parser("history", help="print a ticket's events with their audit metadata")
    h.add_argument("ticket_id", type=UUID)
    h.add_argument("--tenant", help="the ticket's tenant (default: read from its first event)")
    h.add_argument("--json", action="store_true", help="one JSON object per line")
    h.add_argument("--database", **database)
    h.set_defaults(func=history)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
