"""The inbox read model on both backends: views, filters, order, keyset pages, counts, merges."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from ledgerdesk.application import commands as c
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.domain.ticket_values import Category, Priority, TicketStatus
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.projections.inbox.tables import inbox_ticket_tags, inbox_tickets
from ledgerdesk.projections.inbox.queries import counts, inbox
from tests.conftest import random_ref

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 12, 0, 0, tzinfo=timezone.utc)


def context(tenant: str) -> c.CommandContext:
    ref = random_ref()
    return c.CommandContext(tenant=tenant, actor=Actor(ActorKind.AGENT, "agent-ada"), command_id=ref, correlation_id=ref)


def open_ticket(ledger, tenant: str, subject: str = "Where is my parcel?", **over: Any) -> str:  # type: ignore[no-untyped-def]
    fields: dict[str, Any] = {"channel": Channel.WEB_CHAT, "priority": Priority.NORMAL}
    fields.update(over)
    answer = ledger.execute(
        c.OpenTicket(context(tenant), subject=subject, customer=c.CustomerHints(email=f"{random_ref()}@example.com"), **fields)
    )
    return answer.result["ticket_id"]


def run(ledger, command_type, tenant: str, ticket_id: str, **fields: Any) -> None:  # type: ignore[no-untyped-def]
    ledger.execute(command_type(context(tenant), UUID(ticket_id), **fields))


def ids(page: dict[str, Any]) -> list[str]:
    return [row["ticket_id"] for row in page["items"]]


def every_id(read_store, tenant: str, view: str = "all", limit: int = 200, **filters: Any) -> list[str]:  # type: ignore[no-untyped-def]
    found, cursor = [], None
    while True:
        page = inbox(read_store, tenant, view, filters, cursor, limit, NOW)
        found += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return found


@pytest.fixture
def tenant() -> str:
    return random_ref("tenant-")


def without_sla(ledger, tenant: str) -> None:  # type: ignore[no-untyped-def]
    """The tenant's only policy matches no ticket here, so no ticket is measured (not even by the default)."""
    ledger.execute(c.DefineSlaPolicy(context(tenant), name="Phone only", rank=10, match={"channels": ["phone"]},
                                     targets={"first_reply": 600, "next_reply": None, "periodic_update": None, "resolution": None}))


def test_views_show_each_queue_and_the_default_status_hides_solved_tickets(ledger, read_store, projector, tenant):
    without_sla(ledger, tenant)
    mine = open_ticket(ledger, tenant)
    run(ledger, c.AssignTicket, tenant, mine, agent_id="ada", team_id="billing")
    queued = open_ticket(ledger, tenant)
    run(ledger, c.AssignTicket, tenant, queued, team_id="billing")
    loose = open_ticket(ledger, tenant)
    solved = open_ticket(ledger, tenant)
    run(ledger, c.ChangeTicketStatus, tenant, solved, status=TicketStatus.SOLVED)
    moved = open_ticket(ledger, tenant)
    run(ledger, c.AssignTicket, tenant, moved, agent_id="bob", team_id="billing")
    run(ledger, c.AssignTicket, tenant, moved, team_id="logistics")  # a transfer leaves it unassigned
    dropped = open_ticket(ledger, tenant)
    run(ledger, c.AssignTicket, tenant, dropped, agent_id="ada")
    run(ledger, c.UnassignTicket, tenant, dropped)
    open_ticket(ledger, random_ref("tenant-"))  # another tenant's ticket shows nowhere here
    projector.catch_up()

    assert set(every_id(read_store, tenant)) == {mine, queued, loose, moved, dropped}
    assert set(every_id(read_store, tenant, "unassigned")) == {queued, loose, moved, dropped}
    assert every_id(read_store, tenant, "agent:ada") == [mine]
    assert every_id(read_store, tenant, "agent:bob") == []
    assert set(every_id(read_store, tenant, "team:billing")) == {mine, queued}
    assert every_id(read_store, tenant, "team:logistics") == [moved]
    assert every_id(read_store, tenant, status=["solved"]) == [solved]
    assert set(every_id(read_store, tenant, status=["solved", "new"])) == {mine, queued, loose, solved, moved, dropped}

    row = next(r for r in inbox(read_store, tenant, "agent:ada", None, None, 50, NOW)["items"])
    assert row["assignee"] == "ada" and row["team"] == "billing" and row["status"] == "new"
    assert row["sla"] == {"policy_id": None, "policy_version": None, "state": None, "next_due_at": None,
                          "breached": False, "warning": False}
    moved_row = next(r for r in inbox(read_store, tenant, "team:logistics", None, None, 50, NOW)["items"])
    assert moved_row["assignee"] is None and moved_row["team"] == "logistics"


def test_filters_are_alternatives_within_and_combine_across(ledger, read_store, projector, tenant):
    a = open_ticket(ledger, tenant, channel=Channel.EMAIL, priority=Priority.HIGH, category=Category.REFUND, tags=("vip", "refund"))
    b = open_ticket(ledger, tenant, channel=Channel.TAOBAO, priority=Priority.LOW, category=Category.LOGISTICS, tags=("vip",))
    d = open_ticket(ledger, tenant, channel=Channel.EMAIL, priority=Priority.LOW, tags=("slow",))
    e = open_ticket(ledger, tenant, channel=Channel.TAOBAO, priority=Priority.URGENT, category=Category.REFUND)
    run(ledger, c.RetagTicket, tenant, d, remove=("slow",), add=("later",))
    run(ledger, c.ChangeTicketPriority, tenant, e, priority=Priority.NORMAL)
    run(ledger, c.CategoriseTicket, tenant, b, category=Category.RETURN)
    projector.catch_up()

    assert set(every_id(read_store, tenant, channel=["email"])) == {a, d}
    assert set(every_id(read_store, tenant, channel=["email", "taobao"])) == {a, b, d, e}
    assert set(every_id(read_store, tenant, priority=["low"])) == {b, d}
    assert every_id(read_store, tenant, priority=["urgent"]) == []
    assert set(every_id(read_store, tenant, priority=["normal", "high"])) == {a, e}
    assert set(every_id(read_store, tenant, category=["refund"])) == {a, e}
    assert every_id(read_store, tenant, category=["return"]) == [b]
    assert set(every_id(read_store, tenant, tag=["vip"])) == {a, b}
    assert set(every_id(read_store, tenant, tag=["vip", "later"])) == {a, b, d}
    assert every_id(read_store, tenant, tag=["slow"]) == []
    assert every_id(read_store, tenant, tag=["vip"], channel=["email"]) == [a]
    assert every_id(read_store, tenant, tag=["vip"], channel=["email"], priority=["low"]) == []
    assert every_id(read_store, tenant, channel=["EMAIL"], category=["refund"]) == [a]  # values are case-insensitive
    row = inbox(read_store, tenant, "all", {"tag": ["later"]}, None, 50, NOW)["items"][0]
    assert row["tags"] == ["later"] and row["channel"] == "email" and row["priority"] == "low"


def test_bad_views_filters_cursors_and_limits_name_their_field(read_store, tenant):
    for view in ("mine", "agent:", "team:  ", "agent:" + "x" * 200):
        with pytest.raises(InvalidValue) as raised:
            inbox(read_store, tenant, view, None, None, 50, NOW)
        assert raised.value.field == "view"
    for name, value in [("status", "done"), ("priority", "p1"), ("channel", "fax"), ("category", "misc"),
                        ("tag", "two words"), ("language", "en us!")]:
        with pytest.raises(InvalidValue) as raised:
            inbox(read_store, tenant, "all", {name: [value]}, None, 50, NOW)
        assert raised.value.field == name
    for cursor in ("garbage", "W10", "eyJhIjoxfQ"):
        with pytest.raises(InvalidValue) as raised:
            inbox(read_store, tenant, "all", None, cursor, 50, NOW)
        assert raised.value.field == "cursor"
    for limit in (0, 201):
        with pytest.raises(InvalidValue) as raised:
            inbox(read_store, tenant, "all", None, None, limit, NOW)
        assert raised.value.field == "limit"


def test_without_sla_tickets_come_by_priority_then_age_then_id(ledger, read_store, projector, clock, tenant):
    without_sla(ledger, tenant)
    opened = {}
    for name, priority in [("old-low", Priority.LOW), ("old-normal", Priority.NORMAL), ("urgent", Priority.URGENT),
                           ("new-normal", Priority.NORMAL), ("high", Priority.HIGH), ("new-low", Priority.LOW)]:
        clock.now += timedelta(minutes=5)
        opened[name] = open_ticket(ledger, tenant, priority=priority)
    projector.catch_up()

    order = ["urgent", "high", "old-normal", "new-normal", "old-low", "new-low"]
    assert every_id(read_store, tenant) == [opened[n] for n in order]
    assert every_id(read_store, tenant, limit=1) == [opened[n] for n in order]


def test_a_cursor_walk_sees_every_ticket_once_while_tickets_are_opened_between_pages(ledger, read_store, projector, tenant):
    before = {open_ticket(ledger, tenant, priority=p) for p in [Priority.HIGH, Priority.NORMAL, Priority.LOW] * 9}
    projector.catch_up()

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = inbox(read_store, tenant, "all", None, cursor, 4, NOW)
        seen += ids(page)
        pages += 1
        # New tickets of every priority land before, inside and after the part already read.
        for priority in (Priority.URGENT, Priority.NORMAL, Priority.LOW):
            open_ticket(ledger, tenant, priority=priority)
        projector.catch_up()
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "no ticket twice"
    assert before <= set(seen), "every ticket there at the start"
    assert pages > 27 // 4


def test_counts_per_view_status_and_team_for_unsolved_tickets(ledger, read_store, projector, tenant):
    without_sla(ledger, tenant)
    t1 = open_ticket(ledger, tenant)
    run(ledger, c.AssignTicket, tenant, t1, agent_id="ada", team_id="billing")
    t2 = open_ticket(ledger, tenant)
    run(ledger, c.AssignTicket, tenant, t2, agent_id="ada")
    run(ledger, c.ChangeTicketStatus, tenant, t2, status=TicketStatus.PENDING)
    t3 = open_ticket(ledger, tenant)
    run(ledger, c.AssignTicket, tenant, t3, team_id="billing")
    run(ledger, c.ChangeTicketStatus, tenant, t3, status=TicketStatus.ON_HOLD)
    t4 = open_ticket(ledger, tenant)
    run(ledger, c.ReplyToTicket, tenant, t4, text="Looking into it")  # new -> open
    t5 = open_ticket(ledger, tenant)
    run(ledger, c.AssignTicket, tenant, t5, agent_id="bob")
    run(ledger, c.ChangeTicketStatus, tenant, t5, status=TicketStatus.SOLVED)
    open_ticket(ledger, random_ref("tenant-"))
    projector.catch_up()

    assert counts(read_store, tenant, NOW) == {
        "all": 4,
        "unassigned": 2,
        "agents": {"ada": 2},
        "teams": {"billing": 2},
        "by_status": {"new": 1, "open": 1, "pending": 1, "on_hold": 1},
        "breached": 0,
    }
    assert counts(read_store, random_ref("tenant-"), NOW)["all"] == 0


def test_a_merged_ticket_leaves_the_inbox_with_its_tags(ledger, read_store, projector, tenant):
    source = open_ticket(ledger, tenant, tags=("dup",))
    target = open_ticket(ledger, tenant)
    projector.catch_up()
    run(ledger, c.MergeTicket, tenant, source, into_ticket_id=UUID(target))
    run(ledger, c.AddInternalNote, tenant, target, text="merged the duplicate")
    projector.catch_up()

    assert every_id(read_store, tenant) == [target]
    assert every_id(read_store, tenant, status=list(TicketStatus)) == [target]
    assert every_id(read_store, tenant, tag=["dup"]) == []
    with read_store.reading() as conn:
        assert conn.execute(select(inbox_tickets.c.ticket_id).where(inbox_tickets.c.ticket_id == source)).all() == []
        assert conn.execute(select(inbox_ticket_tags).where(inbox_ticket_tags.c.ticket_id == source)).all() == []
    assert counts(read_store, tenant, NOW)["all"] == 1


def test_a_row_keeps_what_the_list_shows(ledger, read_store, projector, clock, tenant):
    long_subject = "Parcel " + "very " * 50 + "late"
    ticket = open_ticket(ledger, tenant, subject=long_subject, channel=Channel.EMAIL, category=Category.LOGISTICS)
    clock.now += timedelta(minutes=10)
    run(ledger, c.ReplyToTicket, tenant, ticket, text="Checking")
    run(ledger, c.ReplyToTicket, tenant, ticket, text="Found it")
    projector.catch_up()

    row = inbox(read_store, tenant, "all", None, None, 50, NOW)["items"][0]
    assert row["subject"].startswith("Parcel very") and row["subject"].endswith("…") and len(row["subject"]) == 120
    assert row["reply_count"] == 2 and row["status"] == "open" and row["category"] == "logistics"
    assert datetime.fromisoformat(row["updated_at"]) > datetime.fromisoformat(row["opened_at"])
    assert row["last_customer_message_at"] is None


def test_language_comes_from_the_opened_event(ledger, read_store, projector, tenant):
    """Ticket.Opened carries the language detected from the first words (None when unsure)."""
    chinese = open_ticket(ledger, tenant, subject="我的订单还没有发货，请尽快帮我处理一下，谢谢")
    english = open_ticket(ledger, tenant, subject="My parcel has not arrived yet, could you please check where it is?")
    projector.catch_up()

    detected = {t: ledger.aggregate(tenant, Ticket, UUID(t)).language for t in (chinese, english)}
    assert detected == {chinese: "zh", english: "en"}
    assert every_id(read_store, tenant, language=["en"]) == [english]
    assert set(every_id(read_store, tenant, language=["en", "zh"])) == {chinese, english}
    assert every_id(read_store, tenant, language=["fr"]) == []
    rows = {r["ticket_id"]: r["language"] for r in inbox(read_store, tenant, "all", None, None, 50, NOW)["items"]}
    assert rows == detected
