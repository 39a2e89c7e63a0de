"""The support analytics read model on SQLite and PostgreSQL: worked examples with known durations.

Each test places its events on chosen instants with the stepping clock, projects them, and
reads `analytics_queries.report` back. Every test works in a fresh tenant.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import insert, select

from ledgerdesk.application import commands as c
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.ticket_values import TicketStatus
from ledgerdesk.interfaces.bootstrap import build_read_store
from ledgerdesk.interfaces.settings import Settings
from ledgerdesk.projections.analytics.tables import analytics_daily, analytics_tickets
from ledgerdesk.projections.analytics.queries import daily, percentile, report
from ledgerdesk.projections.sla.tables import sla_clocks
from ledgerdesk.projections.projector import Projector
from ledgerdesk.projections.store import ReadStore
from tests.conftest import SteppingClock, fresh_postgres_database, random_ref

pytestmark = pytest.mark.integration

D1 = date(2026, 11, 2)
D2 = date(2026, 11, 3)
D3 = date(2026, 11, 4)
NOW = datetime(2026, 11, 30, tzinfo=timezone.utc)


def on(day: date, hour: int = 9, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=timezone.utc)


class Desk:
    """Commands of one tenant, each stored at a chosen instant."""

    def __init__(self, ledger: Ledger, clock: SteppingClock, tenant: str | None = None) -> None:
        self.ledger = ledger
        self.clock = clock
        self.tenant = tenant or random_ref("tenant-")

    def _context(self, kind: ActorKind = ActorKind.AGENT) -> c.CommandContext:
        command_id = str(uuid4())
        return c.CommandContext(self.tenant, Actor(kind, "ada" if kind is ActorKind.AGENT else "robot"), command_id, command_id)

    def _at(self, moment: datetime, command: Any) -> dict[str, Any]:
        self.clock.now = moment - timedelta(seconds=1)  # the clock steps one second at the reading
        return self.ledger.execute(command).result

    def open(self, moment: datetime, channel: Channel = Channel.EMAIL) -> str:
        hints = c.CustomerHints(email=f"{random_ref('buyer-')}@example.com")
        command = c.OpenTicket(self._context(), subject="Where is my parcel?", customer=hints, channel=channel)
        return self._at(moment, command)["ticket_id"]

    def reply(self, ticket_id: str, moment: datetime, kind: ActorKind = ActorKind.AGENT) -> None:
        self._at(moment, c.ReplyToTicket(self._context(kind), UUID(ticket_id), text="On its way."))

    def status(self, ticket_id: str, moment: datetime, status: TicketStatus) -> None:
        self._at(moment, c.ChangeTicketStatus(self._context(), UUID(ticket_id), status=status))

    def solve(self, ticket_id: str, moment: datetime) -> None:
        self.status(ticket_id, moment, TicketStatus.SOLVED)

    def rate(self, ticket_id: str, moment: datetime, score: int) -> None:
        self._at(moment, c.RateTicket(self._context(ActorKind.INTEGRATOR), UUID(ticket_id), score=score))

    def merge(self, ticket_id: str, into: str, moment: datetime) -> None:
        self._at(moment, c.MergeTicket(self._context(), UUID(ticket_id), into_ticket_id=UUID(into)))


@pytest.fixture
def desk(ledger: Ledger, clock: SteppingClock) -> Desk:
    return Desk(ledger, clock)


def read(projector: Projector, store: ReadStore, tenant: str, first: date = D1, last: date = D3, **kw: Any) -> dict[str, Any]:
    projector.catch_up()
    return report(store, tenant, first, last, now=NOW, **kw)


def row(found: dict[str, Any], day: date, channel: str = "email") -> dict[str, Any]:
    matches = [r for r in found["days"] if r["day"] == day and r["channel"] == channel]
    assert len(matches) == 1, found["days"]
    return matches[0]


# -- percentiles ----------------------------------------------------------------------------------


def test_percentiles_interpolate_linearly_between_closest_ranks():
    assert percentile([], 0.5) is None
    assert percentile([42.0], 0.9) == 42.0
    assert percentile([600.0, 60.0, 120.0], 0.5) == 120.0
    assert percentile([60.0, 120.0, 600.0], 0.9) == pytest.approx(504.0)
    assert percentile([10.0, 20.0], 0.5) == 15.0


# -- first reply ----------------------------------------------------------------------------------


def test_first_reply_times_of_60_120_and_600_seconds(desk, projector, read_store):
    for minute, after in ((0, 60), (10, 120), (20, 600)):
        opened = on(D1, 9, minute)
        tid = desk.open(opened)
        desk.reply(tid, opened + timedelta(seconds=after))
        desk.reply(tid, opened + timedelta(seconds=after + 3600))  # only the first reply counts

    found = read(projector, read_store, desk.tenant)

    day = row(found, D1)
    assert day["tickets_opened"] == 3
    assert day["first_reply_seconds"] == {"median": 120.0, "p90": 504.0, "count": 3}
    assert found["totals"]["first_reply_seconds"] == {"median": 120.0, "p90": 504.0, "count": 3}
    assert day["resolution_seconds"] == {"median": None, "p90": None, "count": 0}


def test_first_reply_counts_on_the_day_of_the_reply_and_ignores_automation(desk, projector, read_store):
    tid = desk.open(on(D1, 23, 50))
    desk.reply(tid, on(D1, 23, 55), kind=ActorKind.SYSTEM)  # an auto-acknowledgement is no answer
    desk.reply(tid, on(D2, 0, 20))

    found = read(projector, read_store, desk.tenant)

    assert row(found, D1)["first_reply_seconds"]["count"] == 0
    assert row(found, D2)["first_reply_seconds"] == {"median": 1800.0, "p90": 1800.0, "count": 1}
    assert row(found, D2)["tickets_opened"] == 0


def test_totals_take_percentiles_over_every_duration_not_daily_medians(desk, projector, read_store):
    for day, afters in ((D1, (100, 200, 300)), (D2, (1000,))):
        for i, after in enumerate(afters):
            opened = on(day, 8, i * 10)
            desk.reply(desk.open(opened), opened + timedelta(seconds=after))

    found = read(projector, read_store, desk.tenant)

    assert row(found, D1)["first_reply_seconds"]["median"] == 200.0
    assert row(found, D2)["first_reply_seconds"]["median"] == 1000.0
    # Over 100, 200, 300, 1000: the median is 250 (not the mean of daily medians, 600).
    assert found["totals"]["first_reply_seconds"] == {"median": 250.0, "p90": 790.0, "count": 4}


# -- solves and resolution time -------------------------------------------------------------------


def test_a_solved_reopened_and_solved_again_ticket_counts_both_solves_and_its_latest_resolution(desk, projector, read_store):
    tid = desk.open(on(D1, 10))
    desk.reply(tid, on(D1, 10, 5))
    desk.solve(tid, on(D1, 12))

    first = read(projector, read_store, desk.tenant)
    assert row(first, D1)["tickets_solved"] == 1
    assert row(first, D1)["resolution_seconds"] == {"median": 7200.0, "p90": 7200.0, "count": 1}

    desk.status(tid, on(D2, 9), TicketStatus.OPEN)  # reopened: no resolution time while unsolved
    reopened = read(projector, read_store, desk.tenant)
    assert row(reopened, D1)["tickets_solved"] == 1
    assert reopened["totals"]["resolution_seconds"]["count"] == 0

    desk.solve(tid, on(D3, 10))
    desk.status(tid, on(D3, 11), TicketStatus.CLOSED)  # closing keeps the resolution
    found = read(projector, read_store, desk.tenant)

    assert (row(found, D1)["tickets_solved"], row(found, D3)["tickets_solved"]) == (1, 1)
    assert row(found, D1)["resolution_seconds"]["count"] == 0
    assert row(found, D3)["resolution_seconds"] == {"median": 2 * 86400.0, "p90": 2 * 86400.0, "count": 1}
    assert found["totals"]["tickets_solved"] == 2
    assert found["totals"]["resolution_seconds"]["count"] == 1


def test_a_customer_writing_to_a_solved_ticket_reopens_it_and_withdraws_its_resolution(desk, projector, read_store):
    thread, user = random_ref("thread-"), random_ref("user-")

    def customer_writes(moment: datetime) -> str:
        command = c.ReceiveInboundMessage(
            desk._context(ActorKind.INTEGRATOR), Channel.WECHAT, thread, user, random_ref("msg-"), "Parcel?", moment
        )
        return desk._at(moment, command)["ticket_id"]

    tid = customer_writes(on(D1, 8))
    desk.solve(tid, on(D1, 9))
    assert customer_writes(on(D2, 9)) == tid

    found = read(projector, read_store, desk.tenant)

    assert row(found, D1, "wechat")["tickets_solved"] == 1
    assert row(found, D1, "wechat")["tickets_opened"] == 1
    assert found["totals"]["resolution_seconds"]["count"] == 0


def test_a_merged_away_ticket_does_not_count_as_solved(desk, projector, read_store):
    keep = desk.open(on(D1, 9))
    duplicate = desk.open(on(D1, 9, 5))
    solved_duplicate = desk.open(on(D1, 9, 10))
    desk.solve(solved_duplicate, on(D1, 10))
    desk.status(solved_duplicate, on(D1, 11), TicketStatus.OPEN)
    desk.solve(solved_duplicate, on(D2, 10))

    before = read(projector, read_store, desk.tenant)
    assert (row(before, D1)["tickets_solved"], row(before, D2)["tickets_solved"]) == (1, 1)

    desk.merge(duplicate, keep, on(D2, 11))
    desk.merge(solved_duplicate, keep, on(D2, 12))
    desk.solve(keep, on(D3, 9))
    found = read(projector, read_store, desk.tenant)

    assert row(found, D1)["tickets_opened"] == 3  # duplicates were opened all the same
    assert row(found, D1)["tickets_solved"] == 0
    assert [r for r in found["days"] if r["day"] == D2] == []  # nothing left to show on D2
    assert row(found, D3)["tickets_solved"] == 1
    assert found["totals"]["tickets_solved"] == 1
    assert found["totals"]["resolution_seconds"] == {"median": 2 * 86400.0, "p90": 2 * 86400.0, "count": 1}


# -- CSAT -----------------------------------------------------------------------------------------


def test_a_re_rating_replaces_the_earlier_score(desk, projector, read_store):
    moved = desk.open(on(D1, 9))
    desk.solve(moved, on(D1, 10))
    desk.rate(moved, on(D1, 11), 2)
    same_day = desk.open(on(D1, 9, 30))
    desk.solve(same_day, on(D1, 10, 30))
    desk.rate(same_day, on(D1, 12), 1)
    desk.rate(same_day, on(D1, 13), 4)

    before = read(projector, read_store, desk.tenant)
    assert row(before, D1)["csat"] == {"average": 3.0, "count": 2}

    desk.rate(moved, on(D2, 9), 5)  # the customer changed their mind the next day
    found = read(projector, read_store, desk.tenant)

    assert row(found, D1)["csat"] == {"average": 4.0, "count": 1}
    assert row(found, D2)["csat"] == {"average": 5.0, "count": 1}
    assert found["totals"]["csat"] == {"average": 4.5, "count": 2}


# -- counts per channel and day, tenants ----------------------------------------------------------


def test_counts_per_channel_and_day(desk, projector, read_store):
    for moment, channel in (
        (on(D1, 1), Channel.EMAIL), (on(D1, 23, 59, 59), Channel.EMAIL), (on(D1, 5), Channel.WEB_CHAT),
        (on(D2, 0, 0, 0), Channel.EMAIL), (on(D3, 12), Channel.TAOBAO),
    ):
        desk.open(moment, channel)
    chat = desk.open(on(D2, 3), Channel.WEB_CHAT)
    desk.solve(chat, on(D2, 4))

    found = read(projector, read_store, desk.tenant)

    opened = {(r["day"], r["channel"]): (r["tickets_opened"], r["tickets_solved"]) for r in found["days"]}
    assert opened == {
        (D1, "email"): (2, 0), (D1, "web_chat"): (1, 0),
        (D2, "email"): (1, 0), (D2, "web_chat"): (1, 1),
        (D3, "taobao"): (1, 0),
    }
    assert [(r["day"], r["channel"]) for r in found["days"]] == sorted(opened)
    assert (found["totals"]["tickets_opened"], found["totals"]["tickets_solved"]) == (6, 1)

    only_chat = daily(read_store, desk.tenant, D1, D3, "web_chat", now=NOW)
    assert [(r["day"], r["tickets_opened"]) for r in only_chat] == [(D1, 1), (D2, 1)]
    assert [r["day"] for r in daily(read_store, desk.tenant, D2, D2, now=NOW)] == [D2, D2]


def test_tenants_see_only_their_own_figures(desk, projector, read_store, ledger, clock):
    other = Desk(ledger, clock)
    mine = desk.open(on(D1, 9))
    desk.reply(mine, on(D1, 9, 1))
    theirs = other.open(on(D1, 9))
    other.reply(theirs, on(D1, 10))
    other.solve(theirs, on(D1, 11))
    other.rate(theirs, on(D1, 12), 1)

    found = read(projector, read_store, desk.tenant)
    assert found["totals"]["tickets_opened"] == 1
    assert found["totals"]["tickets_solved"] == 0
    assert found["totals"]["first_reply_seconds"]["median"] == 60.0
    assert found["totals"]["csat"]["count"] == 0

    theirs_found = report(read_store, other.tenant, D1, D3, now=NOW)
    assert theirs_found["totals"]["first_reply_seconds"]["median"] == 3600.0
    assert theirs_found["totals"]["csat"] == {"average": 1.0, "count": 1}
    assert report(read_store, random_ref("tenant-"), D1, D3, now=NOW) == {"days": [], "totals": _empty_totals()}


def _empty_totals() -> dict[str, Any]:
    nothing = {"median": None, "p90": None, "count": 0}
    return {
        "tickets_opened": 0, "tickets_solved": 0, "first_reply_seconds": nothing, "resolution_seconds": nothing,
        "csat": {"average": None, "count": 0},
        "sla_attainment": {m: {"met": 0, "missed": 0, "rate": None} for m in ("first_reply", "next_reply", "periodic_update", "resolution")},
    }


def test_rows_are_the_same_whether_applied_event_by_event_or_in_one_batch(desk, projector, read_store, ledger):
    a = desk.open(on(D1, 9))
    desk.reply(a, on(D1, 9, 2))
    desk.solve(a, on(D1, 10))
    desk.rate(a, on(D1, 11), 3)
    desk.status(a, on(D2, 9), TicketStatus.OPEN)
    desk.solve(a, on(D2, 10))
    desk.rate(a, on(D2, 11), 5)
    b = desk.open(on(D2, 12), Channel.SMS)
    desk.solve(b, on(D2, 13))
    desk.merge(b, a, on(D3, 9))

    one_by_one = Projector(read_store, ledger.recorder, projector.models, batch_size=1)
    one_by_one.catch_up()
    with read_store.reading() as conn:
        incremental = _rows(conn, desk.tenant)

    with read_store.writing() as conn:  # wipe the model and apply the whole log again, in one batch
        for t in (analytics_tickets, analytics_daily):
            conn.execute(t.delete())
        read_store.set_position(conn, "analytics", read_store.active_generation(conn, "analytics"), 0)
    Projector(read_store, ledger.recorder, [m for m in projector.models if m.name == "analytics"], batch_size=10_000).catch_up()
    with read_store.reading() as conn:
        assert _rows(conn, desk.tenant) == incremental


def _rows(conn: Any, tenant: str) -> list[list[tuple]]:
    return [
        sorted(tuple(r) for r in conn.execute(select(t).where(t.c.tenant == tenant)))
        for t in (analytics_tickets, analytics_daily)
    ]


# -- SLA attainment (the "inbox" read model's clocks, read in its active generation) -------------


@pytest.fixture(params=["sqlite", "postgres"])
def own_store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[ReadStore]:
    """A read store on a database of its own: these tests write SLA clocks by hand."""
    if request.param == "sqlite":
        store = build_read_store(Settings(database_url=f"sqlite:///{tmp_path}/sla.db", api_keys={}))
        yield store
        store.close()
        return
    request.getfixturevalue("postgres_database_url")  # skips (or fails under CI) without PostgreSQL
    with fresh_postgres_database("ledgerdesk_analytics_sla_") as url:
        store = build_read_store(Settings(database_url=url, api_keys={}))
        yield store
        store.close()




def clock_row(tenant: str, metric: str = "first_reply", channel: str = "email", *, due: datetime,
              stopped: datetime | None = None, breached: datetime | None = None, generation: int = 1,
              paused: bool = False) -> dict[str, Any]:
    return {
        "generation": generation, "ticket_id": str(uuid4()), "metric": metric, "cycle": 1, "tenant": tenant,
        "channel": channel, "target_seconds": 3600, "started_at": due - timedelta(hours=1), "due_at": due,
        "stopped_at": stopped, "breached_at": breached, "paused": paused,
    }


def test_sla_attainment_counts_clocks_stopped_in_time_late_and_still_running_past_due(own_store):
    tenant = random_ref("tenant-")
    with own_store.writing() as conn:
        generation = own_store.active_generation(conn, "inbox")
        conn.execute(insert(sla_clocks), [
            clock_row(tenant, due=on(D1, 11), stopped=on(D1, 10)),                        # met on D1
            clock_row(tenant, due=on(D1, 10), stopped=on(D1, 11), breached=on(D1, 11)),   # missed on D1 (stopped late)
            clock_row(tenant, due=on(D1, 15)),                                            # running, overdue: missed on D1
            clock_row(tenant, due=on(D1, 9), paused=True),                                # paused before its due: nothing
            clock_row(tenant, due=on(D3, 18)),                                            # running, not due yet: nothing
            clock_row(tenant, due=on(D3, 11)),                                            # running, overdue: missed on D3
            clock_row(tenant, "resolution", "sms", due=on(D2, 20), stopped=on(D2, 10)),   # met on D2
            clock_row(tenant, due=on(D1, 11), stopped=on(date(2026, 11, 1), 10)),         # stopped before the range
            clock_row(random_ref("tenant-"), due=on(D1, 11), stopped=on(D1, 10)),         # another tenant
            clock_row(tenant, due=on(D1, 11), stopped=on(D1, 10), generation=generation + 1),  # not the live generation
        ])
    noon_d3 = on(D3, 12)

    found = report(own_store, tenant, D1, D3, now=noon_d3)

    assert [(r["day"], r["channel"]) for r in found["days"]] == [(D1, "email"), (D2, "sms"), (D3, "email")]
    assert row(found, D1)["sla_attainment"]["first_reply"] == {"met": 1, "missed": 2, "rate": 0.3333}
    assert row(found, D1)["sla_attainment"]["resolution"] == {"met": 0, "missed": 0, "rate": None}
    assert row(found, D2, "sms")["sla_attainment"]["resolution"] == {"met": 1, "missed": 0, "rate": 1.0}
    assert row(found, D3)["sla_attainment"]["first_reply"] == {"met": 0, "missed": 1, "rate": 0.0}
    assert found["totals"]["sla_attainment"]["first_reply"] == {"met": 1, "missed": 3, "rate": 0.25}
    assert found["totals"]["sla_attainment"]["resolution"] == {"met": 1, "missed": 0, "rate": 1.0}
    assert row(found, D1)["tickets_opened"] == 0  # a day with only SLA clocks still shows

    # Earlier, the running clocks were not due yet: as of 14:00 on D1 only the stopped ones count.
    early = report(own_store, tenant, D1, D3, now=on(D1, 14))
    assert early["totals"]["sla_attainment"]["first_reply"] == {"met": 1, "missed": 1, "rate": 0.5}
    only_sms = report(own_store, tenant, D1, D3, "sms", now=noon_d3)
    assert only_sms["totals"]["sla_attainment"]["first_reply"]["met"] == 0
    assert only_sms["totals"]["sla_attainment"]["resolution"]["met"] == 1
