"""SLA clocks in the inbox read model, on both backends: policy choice, due times in business
hours, fulfilment, pauses, re-targeting, revisions, breaches judged at query time."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from ledgerdesk.application import commands as c
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.ticket_values import Category, Priority, TicketStatus
from ledgerdesk.interfaces.bootstrap import build_ledger, build_read_store
from ledgerdesk.interfaces.seed import seed_traffic
from ledgerdesk.interfaces.settings import Settings
from ledgerdesk.projections.inbox.projection import TicketInbox
from ledgerdesk.projections.inbox.tables import inbox_tickets
from ledgerdesk.projections.sla.clocks import DUE_NEVER
from ledgerdesk.projections.sla.tables import sla_clocks, sla_tickets
from ledgerdesk.projections.inbox.queries import counts, inbox
from ledgerdesk.projections.projector import Projector
from ledgerdesk.projections.rebuild import rebuild
from ledgerdesk.projections.schema import metadata
from ledgerdesk.projections.sla.queries import sla_policies, ticket_sla
from tests.conftest import fresh_postgres_database, random_ref

pytestmark = pytest.mark.integration

UTC = timezone.utc
SHANGHAI_OFFICE = {
    "kind": "business_hours",
    "timezone": "Asia/Shanghai",
    "weekly": {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
}
FRIDAY_1730_SHANGHAI = datetime(2026, 11, 13, 9, 30, tzinfo=UTC)
MONDAY_0930_SHANGHAI = datetime(2026, 11, 16, 1, 30, tzinfo=UTC)
T0 = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
HOUR = 3600


def context(tenant: str, kind: ActorKind = ActorKind.AGENT) -> c.CommandContext:
    ref = random_ref()
    return c.CommandContext(tenant=tenant, actor=Actor(kind, "ada"), command_id=ref, correlation_id=ref)


@pytest.fixture
def tenant() -> str:
    return random_ref("tenant-")


def at(clock, moment: datetime) -> None:  # type: ignore[no-untyped-def]
    """The next command happens at `moment` (the stepping clock adds a second per reading)."""
    clock.now = moment - timedelta(seconds=1)


def define(ledger, tenant: str, name: str, targets: dict[str, int | None], rank: int = 10,  # type: ignore[no-untyped-def]
           match: dict[str, list[str]] | None = None, calendar: dict[str, Any] | None = None) -> str:
    answer = ledger.execute(c.DefineSlaPolicy(context(tenant), name=name, rank=rank, match=match or {}, targets=targets,
                                              calendar=calendar or {"kind": "24x7"}))
    return answer.result["sla_policy_id"]


def open_ticket(ledger, tenant: str, **over: Any) -> str:  # type: ignore[no-untyped-def]
    fields: dict[str, Any] = {"channel": Channel.EMAIL, "priority": Priority.NORMAL,
                              "customer": c.CustomerHints(email=f"{random_ref()}@example.com")}
    fields.update(over)
    return ledger.execute(c.OpenTicket(context(tenant), subject="Where is my parcel?", **fields)).result["ticket_id"]


def run(ledger, command_type, tenant: str, ticket_id: str, kind: ActorKind = ActorKind.AGENT, **fields: Any) -> None:  # type: ignore[no-untyped-def]
    ledger.execute(command_type(context(tenant, kind), UUID(ticket_id), **fields))


def clocks_of(read_store, tenant: str, ticket_id: str, now: datetime) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    found = ticket_sla(read_store, tenant, ticket_id, now)
    assert found is not None
    return {f"{clock['metric']}#{clock['cycle']}": clock for clock in found["clocks"]}


def row_of(read_store, tenant: str, ticket_id: str, now: datetime) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    rows = [r for r in inbox(read_store, tenant, "all", {"status": list(TicketStatus)}, None, 200, now)["items"]
            if r["ticket_id"] == ticket_id]
    assert len(rows) == 1
    return rows[0]


def iso(moment: datetime) -> str:
    return moment.isoformat()


def test_a_one_hour_first_reply_in_business_hours_is_due_next_business_morning(ledger, read_store, projector, clock, tenant):
    policy = define(ledger, tenant, "Office hours", {"first_reply": HOUR}, calendar=SHANGHAI_OFFICE)
    at(clock, FRIDAY_1730_SHANGHAI)
    ticket = open_ticket(ledger, tenant)
    projector.catch_up()

    saturday = datetime(2026, 11, 14, 4, 0, tzinfo=UTC)
    found = ticket_sla(read_store, tenant, ticket, saturday)
    assert found is not None
    assert found["policy"] == {"id": policy, "version": 1, "name": "Office hours"}
    (first_reply,) = found["clocks"]
    assert first_reply["metric"] == "first_reply" and first_reply["state"] == "active"
    assert first_reply["due_at"] == iso(MONDAY_0930_SHANGHAI)  # 30 minutes on Friday, 30 on Monday
    assert first_reply["warning_at"] == iso(MONDAY_0930_SHANGHAI - timedelta(minutes=15))
    assert first_reply["elapsed_seconds"] == 30 * 60

    row = row_of(read_store, tenant, ticket, saturday)
    assert row["sla"] == {"policy_id": policy, "policy_version": 1, "state": "active",
                          "next_due_at": iso(MONDAY_0930_SHANGHAI), "breached": False, "warning": False}
    assert row_of(read_store, tenant, ticket, MONDAY_0930_SHANGHAI - timedelta(minutes=10))["sla"]["warning"] is True


def test_the_first_public_reply_fulfils_first_reply_and_automation_does_not(ledger, read_store, projector, clock, tenant):
    define(ledger, tenant, "Office hours", {"first_reply": HOUR}, calendar=SHANGHAI_OFFICE)
    at(clock, FRIDAY_1730_SHANGHAI)
    ticket = open_ticket(ledger, tenant)
    at(clock, FRIDAY_1730_SHANGHAI + timedelta(minutes=5))
    run(ledger, c.ReplyToTicket, tenant, ticket, kind=ActorKind.SYSTEM, text="We got your message (automatic reply)")
    projector.catch_up()
    assert clocks_of(read_store, tenant, ticket, MONDAY_0930_SHANGHAI - timedelta(minutes=1))["first_reply#1"]["state"] == "active"

    monday_0910 = MONDAY_0930_SHANGHAI - timedelta(minutes=20)
    at(clock, monday_0910)
    run(ledger, c.ReplyToTicket, tenant, ticket, text="Your parcel left the warehouse")
    projector.catch_up()

    later = MONDAY_0930_SHANGHAI + timedelta(days=3)
    first_reply = clocks_of(read_store, tenant, ticket, later)["first_reply#1"]
    assert first_reply["state"] == "fulfilled" and first_reply["breached_at"] is None
    assert first_reply["stopped_at"] == iso(monday_0910) and first_reply["elapsed_seconds"] == 40 * 60
    assert row_of(read_store, tenant, ticket, later)["sla"]["state"] is None
    assert row_of(read_store, tenant, ticket, later)["sla"]["next_due_at"] is None
    with read_store.reading() as conn:
        stored = conn.execute(select(sla_clocks).where(sla_clocks.c.ticket_id == ticket)).mappings().one()
    assert stored["metric"] == "first_reply" and stored["cycle"] == 1 and stored["tenant"] == tenant
    assert stored["channel"] == "email" and stored["target_seconds"] == HOUR and stored["paused"] is False
    assert stored["breached_at"] is None and stored["stopped_at"] is not None and stored["running_since"] is None
    assert stored["elapsed_seconds"] == 40 * 60


def test_a_breach_shows_at_query_time_once_now_passes_the_due_time(ledger, read_store, projector, clock, tenant):
    define(ledger, tenant, "Office hours", {"first_reply": HOUR}, calendar=SHANGHAI_OFFICE)
    at(clock, FRIDAY_1730_SHANGHAI)
    ticket = open_ticket(ledger, tenant)
    projector.catch_up()

    before, after = MONDAY_0930_SHANGHAI - timedelta(seconds=1), MONDAY_0930_SHANGHAI + timedelta(minutes=30)
    assert row_of(read_store, tenant, ticket, before)["sla"]["state"] == "active"
    assert counts(read_store, tenant, before)["breached"] == 0
    late = row_of(read_store, tenant, ticket, after)["sla"]
    assert late["state"] == "breached" and late["breached"] is True and late["warning"] is True
    assert counts(read_store, tenant, after)["breached"] == 1
    first_reply = clocks_of(read_store, tenant, ticket, after)["first_reply#1"]
    assert first_reply["state"] == "breached" and first_reply["breached_at"] == iso(MONDAY_0930_SHANGHAI)

    # Replying late stops the clock as missed, for good.
    at(clock, after)
    run(ledger, c.ReplyToTicket, tenant, ticket, text="Sorry for the wait")
    projector.catch_up()
    first_reply = clocks_of(read_store, tenant, ticket, after + timedelta(days=1))["first_reply#1"]
    assert first_reply["state"] == "breached" and first_reply["breached_at"] == iso(MONDAY_0930_SHANGHAI)
    assert counts(read_store, tenant, after + timedelta(days=1))["breached"] == 0  # nothing overdue now


def test_pending_pauses_resolution_and_a_customer_message_resumes_it(ledger, read_store, projector, clock, tenant):
    define(ledger, tenant, "Standard", {"first_reply": HOUR, "resolution": 4 * HOUR})
    at(clock, T0)
    thread, buyer = random_ref("thread-"), random_ref("buyer-")
    intake = ledger.execute(c.ReceiveInboundMessage(
        context(tenant, ActorKind.INTEGRATOR), channel=Channel.TAOBAO, external_thread_id=thread,
        external_user_id=buyer, external_message_id=random_ref(), text="还没发货", sent_at=T0)).result
    ticket = intake["ticket_id"]
    at(clock, T0 + timedelta(minutes=10))
    run(ledger, c.ReplyToTicket, tenant, ticket, text="Checking with the warehouse")
    at(clock, T0 + timedelta(hours=1))
    run(ledger, c.ChangeTicketStatus, tenant, ticket, status=TicketStatus.PENDING)
    projector.catch_up()

    much_later = T0 + timedelta(hours=10)
    resolution = clocks_of(read_store, tenant, ticket, much_later)["resolution#1"]
    assert resolution["state"] == "paused" and resolution["elapsed_seconds"] == HOUR
    row = row_of(read_store, tenant, ticket, much_later)
    assert row["status"] == "pending" and row["last_customer_message_at"] == iso(T0)
    assert row["sla"]["state"] == "paused" and row["sla"]["breached"] is False and row["sla"]["next_due_at"] is None
    assert counts(read_store, tenant, much_later)["breached"] == 0

    at(clock, T0 + timedelta(hours=20))
    ledger.execute(c.ReceiveInboundMessage(
        context(tenant, ActorKind.INTEGRATOR), channel=Channel.TAOBAO, external_thread_id=thread,
        external_user_id=buyer, external_message_id=random_ref(), text="还在吗?", sent_at=T0 + timedelta(hours=20)))
    projector.catch_up()
    resumed = T0 + timedelta(hours=20)
    resolution = clocks_of(read_store, tenant, ticket, resumed + timedelta(minutes=1))["resolution#1"]
    assert resolution["state"] == "active" and resolution["due_at"] == iso(resumed + timedelta(hours=3))
    row = row_of(read_store, tenant, ticket, resumed + timedelta(minutes=1))
    assert row["status"] == "open" and row["sla"]["next_due_at"] == iso(resumed + timedelta(hours=3))


def test_a_priority_change_selects_the_policy_again_and_retargets(ledger, read_store, projector, clock, tenant):
    urgent = define(ledger, tenant, "Urgent", {"first_reply": 15 * 60}, rank=0, match={"priorities": ["urgent"]})
    standard = define(ledger, tenant, "Standard", {"first_reply": HOUR, "resolution": 8 * HOUR})
    at(clock, T0)
    ticket = open_ticket(ledger, tenant)
    projector.catch_up()
    assert ticket_sla(read_store, tenant, ticket, T0)["policy"]["id"] == standard  # type: ignore[index]
    assert clocks_of(read_store, tenant, ticket, T0)["first_reply#1"]["due_at"] == iso(T0 + timedelta(hours=1))

    at(clock, T0 + timedelta(minutes=5))
    run(ledger, c.ChangeTicketPriority, tenant, ticket, priority=Priority.URGENT)
    projector.catch_up()
    now = T0 + timedelta(minutes=6)
    found = ticket_sla(read_store, tenant, ticket, now)
    assert found is not None and found["policy"] == {"id": urgent, "version": 1, "name": "Urgent"}
    clocks = clocks_of(read_store, tenant, ticket, now)
    assert clocks["first_reply#1"]["target_seconds"] == 15 * 60
    assert clocks["first_reply#1"]["due_at"] == iso(T0 + timedelta(minutes=15))  # the 5 minutes run count
    assert "resolution#1" not in clocks  # the urgent policy does not measure resolution
    row = row_of(read_store, tenant, ticket, now)
    assert row["priority"] == "urgent" and row["sla"]["policy_id"] == urgent
    assert row["sla"]["next_due_at"] == iso(T0 + timedelta(minutes=15))
    with read_store.reading() as conn:
        metrics = {m for (m,) in conn.execute(select(sla_clocks.c.metric).where(sla_clocks.c.ticket_id == ticket))}
        stored = conn.execute(select(sla_tickets).where(sla_tickets.c.ticket_id == ticket)).mappings().one()
    assert metrics == {"first_reply"}
    assert (stored["priority"], stored["policy_id"], stored["policy_version"]) == ("urgent", urgent, 1)


def test_a_revision_leaves_measured_tickets_alone_until_they_are_retargeted(ledger, read_store, projector, clock, tenant):
    policy = define(ledger, tenant, "Standard", {"first_reply": HOUR})
    at(clock, T0)
    measured = open_ticket(ledger, tenant)
    at(clock, T0 + timedelta(minutes=1))
    ledger.execute(c.ReviseSlaPolicy(context(tenant), policy_id=UUID(policy), expected_version=1, name="Standard (relaxed)",
                                     rank=10, match={}, targets={"first_reply": 2 * HOUR}))
    at(clock, T0 + timedelta(minutes=2))
    fresh = open_ticket(ledger, tenant)
    projector.catch_up()

    now = T0 + timedelta(minutes=3)
    assert ticket_sla(read_store, tenant, measured, now)["policy"] == {"id": policy, "version": 1, "name": "Standard (relaxed)"}  # type: ignore[index]
    assert clocks_of(read_store, tenant, measured, now)["first_reply#1"]["due_at"] == iso(T0 + timedelta(hours=1))
    assert ticket_sla(read_store, tenant, fresh, now)["policy"]["version"] == 2  # type: ignore[index]
    assert clocks_of(read_store, tenant, fresh, now)["first_reply#1"]["due_at"] == iso(T0 + timedelta(minutes=2, hours=2))

    # Re-targeted after the revision (its category changed), the measured ticket takes version 2.
    at(clock, T0 + timedelta(minutes=4))
    run(ledger, c.CategoriseTicket, tenant, measured, category=Category.LOGISTICS)
    projector.catch_up()
    assert ticket_sla(read_store, tenant, measured, now)["policy"]["version"] == 2  # type: ignore[index]
    assert clocks_of(read_store, tenant, measured, now)["first_reply#1"]["due_at"] == iso(T0 + timedelta(hours=2))
    assert row_of(read_store, tenant, measured, now)["sla"]["policy_version"] == 2


def test_customer_tiers_choose_the_policy_and_a_merged_customer_counts_as_its_survivor(ledger, read_store, projector, tenant):
    vip = define(ledger, tenant, "VIP", {"first_reply": 600}, rank=0, match={"customer_tiers": ["vip"]})
    standard = define(ledger, tenant, "Standard", {"first_reply": HOUR})
    email, phone = f"{random_ref()}@example.com", "+8613800138000"
    known_vip = ledger.execute(c.OpenTicket(context(tenant), subject="Hi", customer=c.CustomerHints(email=email, tier="vip"))).result
    by_phone = ledger.execute(c.OpenTicket(context(tenant), subject="Hi", customer=c.CustomerHints(phone=phone))).result
    # One message with both identities: the phone's customer merges into the older VIP customer.
    ledger.execute(c.OpenTicket(context(tenant), subject="Hi", customer=c.CustomerHints(email=email, phone=phone)))
    after_merge = open_ticket(ledger, tenant, customer=None, customer_id=UUID(by_phone["customer_id"]))
    plain = open_ticket(ledger, tenant)
    projector.catch_up()

    def policy_of(ticket_id: str) -> str:
        return ticket_sla(read_store, tenant, ticket_id, T0)["policy"]["id"]  # type: ignore[index]

    assert policy_of(known_vip["ticket_id"]) == vip
    assert policy_of(by_phone["ticket_id"]) == standard  # opened before the merge
    assert policy_of(after_merge) == vip
    assert policy_of(plain) == standard


def test_tickets_come_by_due_time_then_priority_and_those_without_sla_last(ledger, read_store, projector, clock, tenant):
    define(ledger, tenant, "Urgent", {"first_reply": 15 * 60}, rank=0, match={"priorities": ["urgent"]})
    define(ledger, tenant, "Email", {"first_reply": HOUR}, match={"channels": ["email"]})
    at(clock, T0)
    unmeasured_high = open_ticket(ledger, tenant, channel=Channel.WECHAT, priority=Priority.HIGH)
    email_hour = open_ticket(ledger, tenant)  # due T0 + 1 h
    at(clock, T0 + timedelta(minutes=30))
    urgent_late = open_ticket(ledger, tenant, channel=Channel.WECHAT, priority=Priority.URGENT)  # due T0 + 45 min
    unmeasured_low = open_ticket(ledger, tenant, channel=Channel.WECHAT, priority=Priority.LOW)
    at(clock, T0 + timedelta(minutes=40))
    urgent_later = open_ticket(ledger, tenant, channel=Channel.JD, priority=Priority.URGENT)  # due T0 + 55 min
    projector.catch_up()

    page = inbox(read_store, tenant, "all", None, None, 50, T0 + timedelta(minutes=50))
    assert [r["ticket_id"] for r in page["items"]] == [urgent_late, urgent_later, email_hour, unmeasured_high, unmeasured_low]
    assert [r["sla"]["state"] for r in page["items"]] == ["breached", "active", "active", None, None]
    with read_store.reading() as conn:
        sorts = dict(conn.execute(select(inbox_tickets.c.ticket_id, inbox_tickets.c.due_sort).where(inbox_tickets.c.tenant == tenant)).all())
    assert sorts[unmeasured_low] == sorts[unmeasured_high] == DUE_NEVER
    # Pages cut by the cursor keep that order.
    walked, cursor = [], None
    while True:
        page = inbox(read_store, tenant, "all", None, cursor, 2, T0 + timedelta(minutes=50))
        walked += [r["ticket_id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == [urgent_late, urgent_later, email_hour, unmeasured_high, unmeasured_low]


def test_a_merged_ticket_takes_its_clocks_with_it_and_solving_stops_them(ledger, read_store, projector, tenant):
    define(ledger, tenant, "Standard", {"first_reply": HOUR, "resolution": 8 * HOUR})
    source, target = open_ticket(ledger, tenant), open_ticket(ledger, tenant)
    solved = open_ticket(ledger, tenant)
    run(ledger, c.MergeTicket, tenant, source, into_ticket_id=UUID(target))
    run(ledger, c.ChangeTicketStatus, tenant, solved, status=TicketStatus.SOLVED)
    projector.catch_up()

    assert ticket_sla(read_store, tenant, source, T0) is None
    with read_store.reading() as conn:
        assert conn.execute(select(sla_clocks).where(sla_clocks.c.ticket_id == source)).all() == []
        assert conn.execute(select(sla_tickets).where(sla_tickets.c.ticket_id == source)).all() == []
    assert {clock["state"] for clock in ticket_sla(read_store, tenant, solved, T0 + timedelta(days=9))["clocks"]} == {"fulfilled"}  # type: ignore[index]
    assert row_of(read_store, tenant, solved, T0)["sla"]["state"] is None
    assert ticket_sla(read_store, random_ref("tenant-"), target, T0) is None  # another tenant's ticket is unknown


def test_the_policy_list_holds_active_policies_in_the_order_they_are_tried(ledger, read_store, projector, tenant):
    standard = define(ledger, tenant, "Standard", {"first_reply": HOUR}, rank=10)
    vip = define(ledger, tenant, "VIP", {"first_reply": 600, "resolution": None}, rank=0, match={"customer_tiers": ["vip"]})
    retired = define(ledger, tenant, "Old", {"first_reply": 2 * HOUR}, rank=5)
    ledger.execute(c.RetireSlaPolicy(context(tenant), UUID(retired)))
    ledger.execute(c.ReviseSlaPolicy(context(tenant), policy_id=UUID(standard), expected_version=1, name="Standard v2",
                                     rank=10, match={}, targets={"first_reply": HOUR, "resolution": 8 * HOUR},
                                     calendar=SHANGHAI_OFFICE))
    define(ledger, random_ref("tenant-"), "Someone else's", {"first_reply": 60})
    projector.catch_up()

    listed = sla_policies(read_store, tenant)
    assert [p["id"] for p in listed] == [vip, standard]
    assert listed[1]["name"] == "Standard v2" and listed[1]["version"] == 2 and listed[1]["retired"] is False
    assert listed[1]["targets"]["resolution_seconds"] == 8 * HOUR and listed[1]["targets"]["resolution_minutes"] == 480
    assert listed[1]["calendar"]["kind"] == "business_hours" and listed[1]["calendar"]["timezone"] == "Asia/Shanghai"
    assert listed[0]["match"]["customer_tiers"] == ["vip"] and listed[0]["targets"]["first_reply_minutes"] == 10

    # A ticket opened now gets the first matching active policy: the retired one matches nothing.
    ticket = open_ticket(ledger, tenant)
    projector.catch_up()
    assert ticket_sla(read_store, tenant, ticket, T0)["policy"] == {"id": standard, "version": 2, "name": "Standard v2"}  # type: ignore[index]


def test_the_migration_makes_the_tables_the_read_model_declares(read_store):
    names = {table.name for table in TicketInbox.tables}
    with read_store.write_engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    mine = [d for d in differences if any(name in repr(d) for name in names)]
    assert mine == []


def _rows(read_store) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    with read_store.reading() as conn:
        generation = read_store.active_generation(conn, "inbox")
        return {
            table.name: sorted(
                (tuple(r) for r in conn.execute(select(*(c for c in table.columns if c.name != "generation"))
                                                .where(table.c.generation == generation))),
                key=repr,
            )
            for table in TicketInbox.tables
        }


@pytest.fixture(params=["sqlite", "postgres"])
def own_settings(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Settings]:
    """A database of its own: the whole read model is compared with a rebuild, and other tests
    write rows no event made (test_inbox_read_model's language test)."""
    if request.param == "sqlite":
        yield Settings(database_url=f"sqlite:///{tmp_path}/ledgerdesk.db", api_keys={}, default_phone_region="CN")
        return
    request.getfixturevalue("postgres_database_url")  # skips (or fails under CI) without PostgreSQL
    with fresh_postgres_database("ledgerdesk_inbox_") as url:
        yield Settings(database_url=url, api_keys={}, default_phone_region="CN")


@pytest.mark.parametrize("batch_size", [1, 5])
def test_small_batches_write_the_rows_a_rebuild_writes(own_settings, batch_size):
    """Each batch writes its clocks, rows and counts once, after its last event: however the log
    is cut into batches, the rows are the same."""
    ledger, read_store = build_ledger(own_settings), build_read_store(own_settings)
    try:
        seed_traffic(ledger, tickets=8, seed=batch_size)
        projector = Projector(read_store, ledger.recorder, [TicketInbox()], batch_size=batch_size)
        projector.catch_up()
        live = _rows(read_store)
        assert live["sla_clocks"] and live["inbox_counts"] and live["sla_policies"]
        rebuild(projector, projector.models)
        assert _rows(read_store) == live
    finally:
        read_store.close()
        ledger.close()
