"""The customer timeline read model on SQLite and PostgreSQL: commands in, projector, queries out.

Every test works in its own tenant; the read store of a PostgreSQL session is shared, so the
projector catches up on other tests' events too, which the queries must never show.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledgerdesk.application.commands import (
    AddInternalNote,
    ChangeTicketStatus,
    CommandContext,
    CustomerHints,
    LinkOrder,
    MergeTicket,
    OpenTicket,
    RateTicket,
    ReceiveInboundMessage,
    ReplyToTicket,
)
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.domain.ticket_values import TicketStatus
from ledgerdesk.projections.timeline import queries as q
from ledgerdesk.projections.projector import Projector
from ledgerdesk.projections.store import ReadStore
from tests.conftest import random_ref

pytestmark = pytest.mark.integration

SENT_AT = datetime(2026, 11, 11, 9, 30, tzinfo=timezone.utc)


# -- helpers ----------------------------------------------------------------------------------


def context(tenant: str, actor: Actor = Actor(ActorKind.INTEGRATOR, "shop")) -> CommandContext:
    command_id = str(uuid4())
    return CommandContext(tenant=tenant, actor=actor, command_id=command_id, correlation_id=command_id)


AGENT = Actor(ActorKind.AGENT, "sofia")


def inbound(
    ledger: Ledger,
    tenant: str,
    *,
    channel: Channel = Channel.TAOBAO,
    user: str | None = None,
    thread: str | None = None,
    text: str = "Where is my parcel?",
    email: str | None = None,
    phone: str | None = None,
    name: str | None = None,
    order_id: str | None = None,
) -> dict[str, Any]:
    return ledger.execute(
        ReceiveInboundMessage(
            context=context(tenant),
            channel=channel,
            external_thread_id=thread or random_ref("thread-"),
            external_user_id=user or random_ref("user-"),
            external_message_id=random_ref("msg-"),
            text=text,
            sent_at=SENT_AT,
            customer=CustomerHints(email=email, phone=phone, name=name),
            order_id=order_id,
        )
    ).result


def as_agent(ledger: Ledger, tenant: str, command_type: type, ticket_id: str, **fields: Any) -> dict[str, Any]:
    return ledger.execute(command_type(context(tenant, AGENT), UUID(ticket_id), **fields)).result


def whole_timeline(store: ReadStore, tenant: str, customer_id: str, limit: int = q.MAX_LIMIT) -> dict[str, Any]:
    """Every page of a timeline, its items joined."""
    first = q.customer_timeline(store, tenant, customer_id, None, limit)
    assert first is not None
    page, items = first, list(first["items"])
    while page["next_cursor"] is not None:
        page = q.customer_timeline(store, tenant, customer_id, page["next_cursor"], limit)
        assert page is not None
        items += page["items"]
    return {**first, "items": items, "next_cursor": None}


def kinds(items: list[dict[str, Any]]) -> list[str]:
    return [item["kind"] for item in items]


def in_order(items: list[dict[str, Any]]) -> bool:
    keys = [(datetime.fromisoformat(i["occurred_at"]), i["position"]) for i in items]
    return keys == sorted(keys) and len(set(keys)) == len(keys)


# -- tests ------------------------------------------------------------------------------------


def test_one_customers_messages_on_two_channels_are_one_timeline_in_time_order(
    ledger: Ledger, read_store: ReadStore, projector: Projector
) -> None:
    tenant = random_ref("tenant-")
    wechat = inbound(ledger, tenant, channel=Channel.WECHAT, phone="+86 138 0013 8000", text="微信：我的订单还没发货")
    whatsapp = inbound(ledger, tenant, channel=Channel.WHATSAPP, phone="13800138000", text="WhatsApp: still no parcel")
    assert whatsapp["customer_id"] == wechat["customer_id"]
    as_agent(ledger, tenant, ReplyToTicket, wechat["ticket_id"], text="已为您加急处理")
    as_agent(ledger, tenant, AddInternalNote, wechat["ticket_id"], text="customer is very upset, escalate")
    inbound(ledger, tenant, channel=Channel.WECHAT, phone="+8613800138000", thread=None, text="谢谢")
    projector.catch_up()

    timeline = whole_timeline(read_store, tenant, wechat["customer_id"])

    assert timeline["customer_id"] == wechat["customer_id"]
    assert timeline["merged_customer_ids"] == []
    items = timeline["items"]
    assert in_order(items)
    messages = [(i["kind"], i["channel"], i["text"]) for i in items if i["kind"].startswith("message")]
    assert messages == [
        ("message_in", "wechat", "微信：我的订单还没发货"),
        ("message_in", "whatsapp", "WhatsApp: still no parcel"),
        ("message_out", "wechat", "已为您加急处理"),
        ("message_in", "wechat", "谢谢"),
    ]
    first = next(i for i in items if i["kind"] == "message_in")
    assert first["conversation_id"] == wechat["conversation_id"]
    assert first["ticket_id"] == wechat["ticket_id"]
    assert first["message_id"] == wechat["message_id"]
    reply = next(i for i in items if i["kind"] == "message_out")
    assert reply["actor"] == {"kind": "agent", "id": "sofia"}
    assert reply["conversation_id"] == wechat["conversation_id"]
    assert all("upset" not in (i["text"] or "") for i in items), "internal notes stay off the timeline"
    assert {i["customer_id"] for i in items} == {wechat["customer_id"]}


def test_a_tickets_life_is_on_its_customers_timeline(ledger: Ledger, read_store: ReadStore, projector: Projector) -> None:
    tenant = random_ref("tenant-")
    long_text = "The parcel arrived broken. " * 30
    first = inbound(ledger, tenant, channel=Channel.EMAIL, email="lucia@example.com", name="Lucía", text=long_text)
    ticket_id = first["ticket_id"]
    as_agent(ledger, tenant, LinkOrder, ticket_id, order_id="TB-1001")
    as_agent(ledger, tenant, ReplyToTicket, ticket_id, text="Sorry! A new one is on its way.")
    as_agent(ledger, tenant, ChangeTicketStatus, ticket_id, status=TicketStatus.SOLVED)
    ledger.execute(RateTicket(context(tenant), UUID(ticket_id), score=5, comment="Quick and kind"))
    # A ticket opened by an agent for a known customer, with no conversation to reply on.
    opened = ledger.execute(
        OpenTicket(context(tenant, AGENT), "Call back about the refund", customer_id=UUID(first["customer_id"]), channel=Channel.PHONE)
    ).result
    as_agent(ledger, tenant, ReplyToTicket, opened["ticket_id"], text="We called you back.")
    projector.catch_up()

    items = whole_timeline(read_store, tenant, first["customer_id"])["items"]

    assert in_order(items)
    on_first = [i for i in items if i["ticket_id"] == ticket_id]
    assert kinds(on_first) == [
        "ticket_opened", "message_in", "order_linked", "message_out", "status_changed", "status_changed", "rated",
    ]
    opened_entry, message, order, _, to_open, to_solved, rated = on_first
    assert (opened_entry["channel"], opened_entry["priority"], opened_entry["subject"]) == ("email", "normal", long_text.strip()[:79] + "…")
    assert len(message["text"]) == 280 and message["text"].endswith("…") and long_text.startswith(message["text"][:-1])
    assert message["sent_at"] == SENT_AT.isoformat()
    assert order["order_id"] == "TB-1001"
    assert (to_open["from_status"], to_open["to_status"]) == ("new", "open")
    assert (to_solved["from_status"], to_solved["to_status"]) == ("open", "solved")
    assert (rated["score"], rated["text"]) == (5, "Quick and kind")
    on_second = [i for i in items if i["ticket_id"] == opened["ticket_id"]]
    assert kinds(on_second) == ["ticket_opened", "message_out", "status_changed"]
    assert on_second[0]["subject"] == "Call back about the refund"
    assert on_second[1]["channel"] == "phone" and on_second[1]["conversation_id"] is None


def test_merged_customers_have_one_timeline_whichever_id_is_asked(
    ledger: Ledger, read_store: ReadStore, projector: Projector
) -> None:
    tenant = random_ref("tenant-")
    oldest = inbound(ledger, tenant, channel=Channel.EMAIL, email="a@example.com", text="by email")
    middle = inbound(ledger, tenant, channel=Channel.WECHAT, phone="+8613900139000", text="by wechat")
    newest = inbound(ledger, tenant, channel=Channel.SMS, email="c@example.com", text="by sms")
    # The phone's customer absorbs the newer one; then the oldest absorbs the phone's customer.
    inbound(ledger, tenant, channel=Channel.APP, phone="13900139000", email="c@example.com", text="app: phone and c")
    inbound(ledger, tenant, channel=Channel.WEB_CHAT, phone="13900139000", email="A@example.com", text="web: phone and a")
    projector.catch_up()

    survivor = oldest["customer_id"]
    timelines = [whole_timeline(read_store, tenant, c["customer_id"]) for c in (oldest, middle, newest)]

    assert timelines[0] == timelines[1] == timelines[2]
    timeline = timelines[0]
    assert timeline["customer_id"] == survivor
    assert timeline["merged_customer_ids"] == sorted([middle["customer_id"], newest["customer_id"]])
    items = timeline["items"]
    assert in_order(items)
    assert [i["text"] for i in items if i["kind"] == "message_in"] == [
        "by email", "by wechat", "by sms", "app: phone and c", "web: phone and a",
    ]
    merges = [(i["survivor_id"], i["merged_customer_id"]) for i in items if i["kind"] == "customer_merged"]
    assert merges == [(middle["customer_id"], newest["customer_id"]), (survivor, middle["customer_id"])]
    assert {i["customer_id"] for i in items} == {survivor, middle["customer_id"], newest["customer_id"]}


def test_ticket_merges_are_on_the_timeline_once_per_customer(ledger: Ledger, read_store: ReadStore, projector: Projector) -> None:
    tenant = random_ref("tenant-")
    one = inbound(ledger, tenant, channel=Channel.JD, user="jd-buyer")
    two = inbound(ledger, tenant, channel=Channel.JD, user="jd-buyer")
    stranger = inbound(ledger, tenant, channel=Channel.DOUYIN)
    as_agent(ledger, tenant, MergeTicket, two["ticket_id"], into_ticket_id=UUID(one["ticket_id"]))
    as_agent(ledger, tenant, MergeTicket, stranger["ticket_id"], into_ticket_id=UUID(one["ticket_id"]))
    projector.catch_up()

    mine = [i for i in whole_timeline(read_store, tenant, one["customer_id"])["items"] if i["kind"] == "ticket_merged"]
    theirs = [i for i in whole_timeline(read_store, tenant, stranger["customer_id"])["items"] if i["kind"] == "ticket_merged"]

    assert [(i["source_ticket_id"], i["target_ticket_id"], i["ticket_id"]) for i in mine] == [
        (two["ticket_id"], one["ticket_id"], two["ticket_id"]),
        (stranger["ticket_id"], one["ticket_id"], one["ticket_id"]),
    ]
    assert [(i["source_ticket_id"], i["ticket_id"]) for i in theirs] == [(stranger["ticket_id"], stranger["ticket_id"])]


def test_pages_walk_the_timeline_exactly_once_while_events_keep_coming(
    ledger: Ledger, read_store: ReadStore, projector: Projector
) -> None:
    tenant = random_ref("tenant-")
    user = random_ref("buyer-")
    first = inbound(ledger, tenant, user=user, text="message 0")
    for n in range(1, 6):
        inbound(ledger, tenant, user=user, text=f"message {n}")
    projector.catch_up()

    seen: list[dict[str, Any]] = []
    page = q.customer_timeline(read_store, tenant, first["customer_id"], None, 3)
    added = 0
    while True:
        assert page is not None and len(page["items"]) <= 3
        seen += page["items"]
        if page["next_cursor"] is None:
            break
        if added < 4:  # more of this customer (and of someone else) between pages
            inbound(ledger, tenant, user=user, text=f"late {added}")
            inbound(ledger, tenant, text="someone else")
            projector.catch_up()
            added += 1
        page = q.customer_timeline(read_store, tenant, first["customer_id"], page["next_cursor"], 3)

    everything = q.customer_timeline(read_store, tenant, first["customer_id"], None, q.MAX_LIMIT)
    assert everything is not None and everything["next_cursor"] is None
    positions = [i["position"] for i in seen]
    assert len(positions) == len(set(positions)), "no entry twice"
    assert seen == everything["items"], "every entry once, in order"
    assert [i["text"] for i in seen if i["text"] and i["text"].startswith("late")] == [f"late {n}" for n in range(4)]
    assert in_order(seen)


def test_lookup_by_email_phone_or_channel_user_finds_the_survivor(
    ledger: Ledger, read_store: ReadStore, projector: Projector
) -> None:
    tenant = random_ref("tenant-")
    by_email = inbound(ledger, tenant, channel=Channel.EMAIL, user="Hi@Example.com", email="Hi@Example.com", name="Lucía")
    by_phone = inbound(ledger, tenant, channel=Channel.WHATSAPP, user="wa-8613800138000", phone="+8613800138000")
    inbound(ledger, tenant, channel=Channel.APP, email="hi@example.com", phone="138 0013 8000")  # merges them
    projector.catch_up()
    region = ledger.default_phone_region

    def find(kind: str, value: str, channel: str | None = None) -> str | None:
        found = q.find_customer(read_store, tenant, kind, value, channel, default_phone_region=region)
        return found["customer_id"] if found else None

    survivor = by_email["customer_id"]
    assert find("email", "  HI@example.COM ") == survivor
    assert find("phone", "13800138000") == survivor
    assert find("phone", "+86 138-0013-8000") == survivor
    assert find("channel_user", "wa-8613800138000", "whatsapp") == survivor
    assert find("channel_user", " Hi@Example.com ", "email") == survivor
    assert find("channel_user", "wa-8613800138000", "wechat") is None
    assert find("email", "nobody@example.com") is None
    found = q.find_customer(read_store, tenant, "phone", "+8613800138000")
    assert found == {
        "customer_id": survivor,
        "display_name": "Lucía",
        "tier": None,
        "registered_at": found["registered_at"],
        "merged_customer_ids": [by_phone["customer_id"]],
    }
    with pytest.raises(InvalidValue) as bad_phone:
        q.find_customer(read_store, tenant, "phone", "12345", default_phone_region=region)
    assert bad_phone.value.field == "phone"
    with pytest.raises(InvalidValue) as no_channel:
        q.find_customer(read_store, tenant, "channel_user", "someone")
    assert no_channel.value.field == "channel"


def test_another_tenants_customer_is_not_found(ledger: Ledger, read_store: ReadStore, projector: Projector) -> None:
    tenant, other = random_ref("tenant-"), random_ref("tenant-")
    mine = inbound(ledger, tenant, channel=Channel.EMAIL, user="same@example.com", email="same@example.com")
    theirs = inbound(ledger, other, channel=Channel.EMAIL, user="same@example.com", email="same@example.com")
    projector.catch_up()

    assert q.customer_timeline(read_store, other, mine["customer_id"]) is None
    assert q.customer_timeline(read_store, tenant, theirs["customer_id"]) is None
    assert q.customer_timeline(read_store, tenant, str(uuid4())) is None
    assert q.find_customer(read_store, tenant, "email", "same@example.com")["customer_id"] == mine["customer_id"]
    assert q.find_customer(read_store, other, "email", "same@example.com")["customer_id"] == theirs["customer_id"]
    assert q.find_customer(read_store, random_ref("tenant-"), "email", "same@example.com") is None
    mine_items = q.customer_timeline(read_store, tenant, mine["customer_id"])["items"]
    assert {i["ticket_id"] for i in mine_items} == {mine["ticket_id"]}


def test_a_cursor_that_was_not_given_out_is_refused(ledger: Ledger, read_store: ReadStore, projector: Projector) -> None:
    tenant = random_ref("tenant-")
    mine = inbound(ledger, tenant)
    projector.catch_up()
    for bad in ("not-a-cursor", "W10", "WyJ4IiwxXQ"):  # garbage, [], ["x", 1]
        with pytest.raises(InvalidValue) as refused:
            q.customer_timeline(read_store, tenant, mine["customer_id"], bad, 10)
        assert refused.value.field == "cursor"
