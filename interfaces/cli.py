"""The `ledgerdesk` command line: serve the API, run and inspect the projections, seed realistic
traffic, print a ticket's history."""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from uuid import UUID

from ledgerdesk.application.audit_checkpoints import checkpointer_status
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.projections.follower import Followers
from ledgerdesk.projections.policy_consumer import POLICY_PREFIX
from ledgerdesk.projections.policy_relay import PolicyRelay
from ledgerdesk.projections.projector import Projector
from ledgerdesk.projections.read_model import ReadModel
from ledgerdesk.projections.status import status
from ledgerdesk.projections.timer_sweep import TimerSweep

from . import audit_cli, case_cli, mail_quarantine_cli, replay_cli
from .bootstrap import (
    POLICIES, build_checkpointer, build_follower, build_ledger, build_projector, build_read_store, build_runtime, ensure_dev_key, timer_sources, tune_garbage_collector,
)
from .preflight import StartupError, check_database, load_settings
from .settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    """The settings, and the database they name checked reachable: a problem is one line (StartupError)."""
    overrides = {"database_url": args.database} if getattr(args, "database", None) else {}
    settings = load_settings(**overrides)
    check_database(settings)
    return settings


def _outlive_broken_pipes() -> None:
    """For the long-running commands: a pipe or socket whose reader is gone (a client that hung up,
    a child projector that died) is an error to handle, not the end of the process. The entry
    point lets SIGPIPE end the short commands quietly, as shell tools do (`... | head`)."""
    import signal

    signal.signal(signal.SIGPIPE, signal.SIG_IGN)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    _outlive_broken_pipes()

    from .http.app import create_app

    settings, dev_key = ensure_dev_key(_settings(args))
    runtime = build_runtime(settings)
    if dev_key:
        print(f"ledgerdesk: no LEDGERDESK_API_KEYS set; a development key for tenant 'demo' is kept in {settings.dev_key_path()}:")
        print(f'  curl -H "Authorization: Bearer {dev_key}" http://{args.host}:{args.port}/v1/inbox')
    print(f"ledgerdesk: events in {settings.database_url}; API on http://{args.host}:{args.port} (docs at /docs)", flush=True)
    if settings.projections == "external":
        print("ledgerdesk: LEDGERDESK_PROJECTIONS=external: run `ledgerdesk project` to keep the read models up to date")
    app = create_app(runtime)
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


def project(args: argparse.Namespace) -> int:
    """Runs the projections in this process until interrupted (production: beside stateless API processes)."""
    import signal
    import threading

    _outlive_broken_pipes()

    settings = _settings(args)
    if settings.broker_url is not None:
        from .preflight import check_broker

        check_broker(settings)
    ledger = build_ledger(settings)
    follower = build_follower(ledger, build_read_store(settings), settings)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if args.wake_on_stdin:
        threading.Thread(target=_wake_on_input, args=(follower, stop), name="ledgerdesk-wake", daemon=True).start()
    follower.start()
    print(f"ledgerdesk: projecting {', '.join(m.name for m in follower.models)} into {settings.read_model_url()}",
          flush=True)
    stop.wait()
    follower.stop()
    return 0


def _wake_on_input(follower: Followers, stop: threading.Event) -> None:
    """`serve`'s child projector: each write to stdin is a wake-up; its end means `serve` is gone."""
    while os.read(sys.stdin.fileno(), 4096):
        follower.wake()
    stop.set()


def projections_status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    ledger = build_ledger(settings)  # kept referenced: the projector reads its recorder
    store = build_read_store(settings)
    if settings.broker_url is None:
        rows = status(build_projector(ledger, store, settings.policies))
    else:  # the policies run on the broker: the relay is what follows the log for them
        rows = status(build_projector(ledger, store))
        if settings.policies:
            rows += status(PolicyRelay(store, ledger.recorder, [POLICIES[n](store) for n in settings.policies], _no_send))
    # The audit checkpointer follows the log too; its position is its last checkpoint (events' database).
    checkpoints = checkpointer_status(build_checkpointer(ledger, settings))
    _timed, sources = timer_sources(store, settings)  # the policies' timers, when a policy has any
    timers = [TimerSweep(sources, _not_fired, interval=settings.timer_sweep_seconds).status()] if sources else []
    if args.json:
        print(json.dumps([*rows, checkpoints, *timers]))
        return 0
    print(f"{'read model':<15} {'state':<12} {'generation':>10} {'position':>10} {'head':>10} {'lag':>8} {'parked':>7}  rebuilding")
    for row in rows:
        rebuilding = row["rebuilding"]
        note = f"generation {rebuilding['generation']} at {rebuilding['position']}" if rebuilding else "-"
        print(f"{row['name']:<15} {row['state']:<12} {row['generation']:>10} {row['position']:>10} {row['head']:>10} "
              f"{row['lag']:>8} {row['parked']['events']:>7}  {note}")
        for held in row["parked"]["held_tenants"]:
            print(f"  tenant {held['tenant']} held from position {held['since']}: see `ledgerdesk projections parked`")
        if row["last_error"]:
            print(f"  last error at {row['last_error']['at']}: {row['last_error']['message']}")
    print(f"{checkpoints['name']:<15} {checkpoints['state']:<12} {'-':>10} {checkpoints['position']:>10} {checkpoints['head']:>10} "
          f"{checkpoints['lag']:>8} {'-':>7}  {checkpoints['checkpoints']} checkpoints, the last at {checkpoints['moved_at'] or '-'}")
    for row in timers:
        late = f", the oldest due at {row['oldest_overdue_at']}" if row["overdue"] else ""
        print(f"{row['name']:<15} {row['state']:<12} {'-':>10} {'-':>10} {'-':>10} {'-':>8} {'-':>7}  "
              f"{row['overdue']} overdue{late}; the next due at {row['next_at'] or '-'}")
    return 0


def _no_send(_policy: str, _trigger: object) -> None:
    raise RuntimeError("status only reads the relay's position")


def _not_fired(_trigger: object) -> None:
    raise RuntimeError("status only reads the timers")


def worker(args: argparse.Namespace) -> int:
    """Runs dramatiq workers for the configured policies until interrupted (production, with a broker)."""
    import logging
    import signal

    _outlive_broken_pipes()

    from .policy_worker import run_worker, supervise
    from .preflight import check_broker

    settings = _settings(args)
    check_broker(settings)
    if not settings.policies:
        raise StartupError("LEDGERDESK_POLICIES is empty: a worker would have nothing to run")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)  # its INFO is every socket's life story
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if args.processes == 1:
        run_worker(settings, args.threads, stop)
    else:
        print(f"ledgerdesk: starting {args.processes} worker processes", flush=True)
        supervise(settings, args.processes, args.threads, stop)
    return 0


def policies_dead_letters(args: argparse.Namespace) -> int:
    from .dead_letters import DeadLetters
    from .preflight import check_broker

    settings = _settings(args)
    check_broker(settings)
    with DeadLetters(settings) as dead:
        letters = dead.list(limit=args.limit)
        if args.replay_all or args.replay:
            wanted = set(args.replay or [])
            missing = sorted(wanted - {letter.message_id for letter in letters})
            chosen = [letter for letter in letters if args.replay_all or letter.message_id in wanted]
            replayed = dead.replay(chosen)
            for letter in replayed:
                print(f"replayed {letter.message_id} (policy {letter.policy}, event {letter.event_id}) onto {letter.queue}")
            unreadable = [letter.message_id for letter in chosen if letter.message is None]
            gone = [letter.message_id for letter in chosen if letter not in replayed and letter.message is not None]
            for message_id in missing + gone:
                print(f"no dead letter {message_id} in {', '.join(dead.queues)}", file=sys.stderr)
            for message_id in unreadable:
                print(f"dead letter {message_id} is not a message the workers can read: left where it is", file=sys.stderr)
            if not chosen and args.replay_all:
                print("no dead letters")
            return 1 if missing or gone or unreadable else 0
    if args.json:
        print(json.dumps([letter.as_dict() for letter in letters], ensure_ascii=False))
        return 0
    if not letters:
        print(f"no dead letters in {', '.join(dead.queues)}")
    for letter in letters:
        when = letter.dead_at.isoformat(timespec="seconds") if letter.dead_at else "?"
        print(f"{letter.message_id}  policy {letter.policy or '?'}  {letter.event_type or '?'} {letter.event_id or '?'}  "
              f"tenant {letter.tenant or '?'}  dead since {when}  after {letter.retries} retries")
        print(f"    {letter.error or 'error not recorded on the message: see the worker log'}")
    return 0


def projections_parked(args: argparse.Namespace) -> int:
    from ledgerdesk.projections import parking

    opened = _projector_and_models(args, policies=True)
    if opened is None:
        return 2
    _ledger, projector, models = opened
    store = projector.store
    with store.reading() as conn:
        states = store.generations(conn, [m.name for m in models])
        found = parking.parked_events(conn, {name: s.active for name, s in states.items()}, tenant=args.tenant, limit=args.limit)
    if args.json:
        print(json.dumps([p.as_dict() for p in found], ensure_ascii=False))
        return 0
    if not found:
        print("no parked events")
    for p in found:
        retried = f", retried {p.retries}x" if p.retries else ""
        print(f"{p.name:<10} position {p.position:<8} tenant {p.tenant or '?':<20} {p.event_type:<30} "
              f"parked {p.as_dict()['parked_at']}{retried}")
        print(f"           {p.error}")
    return 0


def projections_retry(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ledgerdesk.projections.retry import retry

    opened = _projector_and_models(args, policies=True)
    if opened is None:
        return 2
    _ledger, projector, models = opened
    with tqdm(unit="ev", unit_scale=True, desc="retrying parked events", disable=args.quiet) as bar:
        outcomes = retry(projector, models, tenant=args.tenant, progress=bar.update)
    if not outcomes:
        print("no parked events")
    for outcome in outcomes:
        print(outcome.describe())
    return 0 if all(o.resolved for o in outcomes) else 1


def _projector_and_models(args: argparse.Namespace, policies: bool = False) -> tuple[Ledger, Projector, list[ReadModel]] | None:
    """The projector over the configured database, and the read models named on the command line
    (with `policies`, the configured policies' consumers too: they park and retry like read models)."""
    from ledgerdesk.projections.catalog import all_read_models

    settings = _settings(args)
    named = list(dict.fromkeys(args.names or []))
    known = [m.name for m in all_read_models()] + [POLICY_PREFIX + name for name in settings.policies if policies]
    unknown = [n for n in named if n not in known]
    if unknown:
        print(f"no read model named {', '.join(unknown)}; there are: {', '.join(known)}", file=sys.stderr)
        return None
    ledger = build_ledger(settings)  # returned to be kept referenced: the projector reads its recorder
    projector = build_projector(ledger, build_read_store(settings), settings.policies if policies else ())
    return ledger, projector, [m for m in projector.models if m.name in (named or known)]


def projections_rebuild(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ledgerdesk.projections.rebuild import RebuildInProgress, rebuild

    opened = _projector_and_models(args)
    if opened is None:
        return 2
    _ledger, projector, models = opened
    head = projector.head()
    with tqdm(total=head, unit="ev", unit_scale=True, desc=f"rebuilding {', '.join(m.name for m in models)}",
              disable=args.quiet) as bar:
        try:
            report = rebuild(projector, models, progress=lambda _position, events: bar.update(events), restart=args.restart)
        except RebuildInProgress as busy:
            bar.close()
            print(busy, file=sys.stderr)
            return 3
    print(
        f"rebuilt {', '.join(report.names)}: {report.events} events in {report.seconds:.1f} s "
        f"({report.events_per_second:,.0f} events/s) and switched; the old rows dropped in {report.cleanup_seconds:.1f} s; "
        f"now at position {report.position}"
    )
    for name, count in report.parked.items():
        print(f"{name}: {count} event{'s' if count > 1 else ''} could not be applied and {'are' if count > 1 else 'is'} parked: "
              "see `ledgerdesk projections parked`")
    return 0


def projections_verify(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ledgerdesk.projections.verify import verify

    opened = _projector_and_models(args)
    if opened is None:
        return 2
    _ledger, projector, models = opened
    with tqdm(total=projector.head(), unit="ev", unit_scale=True, desc="rebuilding beside, to compare", disable=args.quiet) as bar:
        results = verify(projector, models, progress=lambda _position, events: bar.update(events))
    for found in results:
        rows = ", ".join(f"{table} {count}" for table, count in found.rows.items())
        print(f"{found.name} at position {found.position}: {found.verdict} ({rows} rows)")
        for difference in found.differences:
            print(f"  {difference}")
    return 0 if all(found.equal for found in results) else 1


SHOWN_DEFAULTS = argparse.ArgumentDefaultsHelpFormatter


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ledgerdesk", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    database = {"help": "database URL; without it LEDGERDESK_DATABASE_URL, else sqlite:///./ledgerdesk.db",
                "default": argparse.SUPPRESS}

    s = sub.add_parser("serve", formatter_class=SHOWN_DEFAULTS, help="serve the HTTP API")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on")
    s.add_argument("--port", type=int, default=8000, help="port to listen on")
    s.add_argument("--database", **database)
    s.add_argument("--access-log", action="store_true", help="log every request")
    s.set_defaults(func=serve)

    d = sub.add_parser("seed", formatter_class=SHOWN_DEFAULTS, help="send realistic traffic through the application")
    d.add_argument("--tickets", type=int, default=200, help="tickets to open, across three shops")
    d.add_argument("--seed", type=int, default=11, help="random seed, for repeatable traffic")
    d.add_argument("--database", **database)
    d.set_defaults(func=seed)

    j = sub.add_parser("project", formatter_class=SHOWN_DEFAULTS, help="keep the read models following the log (a projection process)")
    j.add_argument("--database", **database)
    j.add_argument("--wake-on-stdin", action="store_true", help=argparse.SUPPRESS)  # how `serve` runs its child projector
    j.set_defaults(func=project)

    ps = sub.add_parser("projections", formatter_class=SHOWN_DEFAULTS, help="read models: status, rebuild, verify, parked events and their retry")
    psub = ps.add_subparsers(dest="action", required=True)
    st = psub.add_parser("status", formatter_class=SHOWN_DEFAULTS, help="each read model's position, the log head and the lag")
    st.add_argument("--json", action="store_true")
    st.add_argument("--database", **database)
    st.set_defaults(func=projections_status)
    rb = psub.add_parser("rebuild", formatter_class=SHOWN_DEFAULTS, help="rebuild read models from position zero beside the live ones, then switch")
    rb.add_argument("names", nargs="*", metavar="NAME", help="read models to rebuild (default: all)")
    rb.add_argument("--quiet", action="store_true", help="no progress bar")
    rb.add_argument("--restart", action="store_true", help="take over from a rebuild that died half-way")
    rb.add_argument("--database", **database)
    rb.set_defaults(func=projections_rebuild)

    vf = psub.add_parser("verify", formatter_class=SHOWN_DEFAULTS, help="rebuild beside the live read models and compare them row by row")
    vf.add_argument("names", nargs="*", metavar="NAME", help="read models to verify (default: all)")
    vf.add_argument("--quiet", action="store_true", help="no progress bar")
    vf.add_argument("--database", **database)
    vf.set_defaults(func=projections_verify)

    pk = psub.add_parser("parked", formatter_class=SHOWN_DEFAULTS, help="events a read model could not apply, with their errors")
    pk.add_argument("names", nargs="*", metavar="NAME", help="read models (default: all)")
    pk.add_argument("--tenant", help="only this tenant's")
    pk.add_argument("--limit", type=int, default=100, help="list at most this many")
    pk.add_argument("--json", action="store_true")
    pk.add_argument("--database", **database)
    pk.set_defaults(func=projections_parked)

    rt = psub.add_parser("retry", formatter_class=SHOWN_DEFAULTS, help="apply parked events again (after a fix), and the held tenants' events after them")
    rt.add_argument("names", nargs="*", metavar="NAME", help="read models (default: all)")
    rt.add_argument("--tenant", help="only this tenant's")
    rt.add_argument("--quiet", action="store_true", help="no progress bar")
    rt.add_argument("--database", **database)
    rt.set_defaults(func=projections_retry)

    w = sub.add_parser("worker", formatter_class=SHOWN_DEFAULTS,
                       help="run the policies' messages from the broker LEDGERDESK_BROKER_URL names (dramatiq workers)")
    w.add_argument("--processes", type=_positive, default=1, help="worker processes")
    w.add_argument("--threads", type=_positive, default=4, help="threads per process")
    w.add_argument("--database", **database)
    w.set_defaults(func=worker)

    po = sub.add_parser("policies", formatter_class=SHOWN_DEFAULTS, help="policies run on a broker: their dead letters")
    posub = po.add_subparsers(dest="action", required=True)
    dl = posub.add_parser("dead-letters", formatter_class=SHOWN_DEFAULTS,
                          help="list the messages that kept failing; replay them onto the live queue (after a fix)")
    dl.add_argument("--replay", nargs="+", metavar="MESSAGE_ID", help="replay these messages")
    dl.add_argument("--replay-all", action="store_true", help="replay every listed message")
    dl.add_argument("--limit", type=_positive, default=1000, help="look at most at this many per queue")
    dl.add_argument("--json", action="store_true")
    dl.add_argument("--database", **database)
    dl.set_defaults(func=policies_dead_letters)

    h = sub.add_parser("history", formatter_class=SHOWN_DEFAULTS, help="print a ticket's events with their audit metadata")
    h.add_argument("ticket_id", type=UUID)
    h.add_argument("--tenant", help="the ticket's tenant (default: read from its first event)")
    h.add_argument("--json", action="store_true", help="one JSON object per line")
    h.add_argument("--database", **database)
    h.set_defaults(func=history)

    mail_quarantine_cli.add_commands(sub, database, _settings)
    replay_cli.add_commands(sub, database, _settings)
    audit_cli.add_commands(sub, database, _settings)
    case_cli.add_commands(sub, database, _settings)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except StartupError as error:
        print(f"ledgerdesk: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
