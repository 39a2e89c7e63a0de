"""Case-file benchmark: how long one order's case of 1,000+ events takes to build, render and check.

    .venv/bin/python bench/case_bench.py [--tickets 40] [--messages 6] [--rounds 5]

In a fresh SQLite database in a temp directory (the embedded default), one shop's buyer writes
about one order on `--tickets` threads across channels, `--messages` messages each, each answered by
an agent, then solved: every ticket links the order. The read models catch up, then, `--rounds`
times, the case is built as `GET /v1/cases` builds it (scope from the timeline's order index, every
stream replayed, entries, tickets' facts, SLA clocks from the read model, proof hashes), rendered as
the HTML document, and checked as `ledgerdesk audit verify-file` checks it. Prints the median and
the worst of each, with the target: well under a second for the JSON build.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID, uuid4

from ledgerdesk.application import commands as c
from ledgerdesk.application.case_files.scope import CaseScope, ScopeKind
from ledgerdesk.application.case_files.verification import check_case
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.ticket_values import TicketStatus
from ledgerdesk.interfaces.bootstrap import build_case_builder, build_ledger, build_projector, build_read_store
from ledgerdesk.interfaces.case_document import render_case
from ledgerdesk.interfaces.settings import Settings

TENANT, ORDER = "bench-shop", "TB-100000000001"
CHANNELS = (Channel.TAOBAO, Channel.EMAIL, Channel.WECHAT, Channel.JD, Channel.WEB_CHAT)
TARGET_SECONDS = 1.0


def _context(actor: Actor) -> c.CommandContext:
    command_id = str(uuid4())
    return c.CommandContext(tenant=TENANT, actor=actor, command_id=command_id, correlation_id=command_id)


def fill(ledger, tickets: int, messages: int) -> None:  # type: ignore[no-untyped-def]
    agent = Actor(ActorKind.AGENT, "li.na")
    sent_at = datetime(2026, 11, 11, tzinfo=timezone.utc)
    for n in range(tickets):
        channel = CHANNELS[n % len(CHANNELS)]
        thread, ticket_id = f"{channel}-thread-{n}", None
        for m in range(messages):
            message = c.ReceiveInboundMessage(
                _context(Actor(ActorKind.INTEGRATOR, f"{channel}-connector")), channel, thread, "buyer-1", f"m-{n}-{m}",
                f"订单{ORDER}还没发货，第{m + 1}次询问 / where is order {ORDER}?", sent_at + timedelta(minutes=n * 10 + m),
                c.CustomerHints(email="buyer@example.com"), order_id=ORDER)
            ticket_id = ledger.execute(message).result["ticket_id"]
            ledger.execute(c.ReplyToTicket(_context(agent), UUID(ticket_id), "您好，正在为您处理 / on it"))
        ledger.execute(c.ChangeTicketStatus(_context(agent), UUID(ticket_id), TicketStatus.SOLVED))


def timed(work, rounds: int) -> tuple[list[float], object]:  # type: ignore[no-untyped-def]
    seconds, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = work()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=40)
    parser.add_argument("--messages", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=f"sqlite:///{Path(folder) / 'bench.db'}", api_keys={})
        ledger, store = build_ledger(settings), build_read_store(settings)
        try:
            print(f"filling: {args.tickets} tickets × {args.messages} messages and replies about order {ORDER} …", file=sys.stderr)
            fill(ledger, args.tickets, args.messages)
            build_projector(ledger, store).catch_up()
            build = build_case_builder(ledger, store)
            scope = CaseScope(ScopeKind.ORDER, ORDER)
            json_seconds, case = timed(lambda: build(TENANT, scope, None, ledger.clock()), args.rounds)
            html_seconds, html = timed(lambda: render_case(case, "zh"), args.rounds)
            text = json.dumps(case, ensure_ascii=False)
            check_seconds, check = timed(lambda: check_case(json.loads(text)), args.rounds)
        finally:
            store.close()
            ledger.close()
    events = sum(len(s["events"]) for s in case["proof"]["streams"])
    assert check.verified and len(case["entries"]) == events
    print(f"case of order {ORDER}: {events} events in {len(case['proof']['streams'])} streams, {len(case['tickets'])} tickets; "
          f"JSON {len(text.encode()) / 1e6:.1f} MB, HTML {len(html.encode()) / 1e6:.1f} MB; {args.rounds} rounds")
    for name, seconds in (("build (GET /v1/cases)", json_seconds), ("render HTML (zh)", html_seconds),
                          ("verify-file check", check_seconds)):
        print(f"{name:<24} median {statistics.median(seconds) * 1000:7.1f} ms   worst {max(seconds) * 1000:7.1f} ms")
    total = statistics.median(json_seconds) + statistics.median(html_seconds)
    verdict = "PASS" if total < TARGET_SECONDS / 2 else "MISS"
    print(f"build + HTML median {total * 1000:.1f} ms; target well under {TARGET_SECONDS:.0f} s (< 500 ms): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
