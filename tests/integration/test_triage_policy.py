"""Triage as a policy: each customer message is read against the rules, and the ticket's history
says which rule moved its category or priority, and which message caused it ([policies])."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import UUID

import pytest

from ledgerdesk.application import commands as c
from ledgerdesk.application.triage_policy import TriagePolicy
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.projections.policy_consumer import PolicyConsumer
from ledgerdesk.projections.projector import Projector
from tests.conftest import random_ref
from tests.integration.test_concurrency import SENT_AT, context, inbound

pytestmark = pytest.mark.integration


@pytest.fixture
def triaging(ledger, read_store) -> Projector:
    consumer = PolicyConsumer(TriagePolicy(), ledger)
    read_store.register([consumer.name])
    projector = Projector(read_store, ledger.recorder, [consumer])
    projector.catch_up()  # whatever earlier tests left in the log
    return projector


def ticket_of(ledger, tenant: str, ticket_id: str) -> Ticket:  # type: ignore[no-untyped-def]
    return ledger.aggregate(tenant, Ticket, UUID(ticket_id))


def history(ledger, tenant: str, ticket_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return ledger.history(tenant, Ticket, UUID(ticket_id), 0, 1000)["items"]


def test_a_chinese_refund_complaint_is_categorised_and_raised_with_the_rule_named(ledger, triaging) -> None:
    tenant = random_ref("tenant-")
    ticket = ledger.execute(inbound(tenant, text="我要投诉！申请退款一个星期了还没到账")).result["ticket_id"]
    triaging.catch_up()
    found = ticket_of(ledger, tenant, ticket)
    assert str(found.category) == "complaint"
    changed = [e for e in history(ledger, tenant, ticket) if e["actor"]["kind"] == "policy"]
    assert {e["type"] for e in changed} >= {"Ticket.CategoryChanged"}
    message = next(e for e in history(ledger, tenant, ticket) if e["type"] == "Ticket.CustomerMessageAdded")
    assert all(e["actor"]["id"] == "triage" and e["causation_id"] == message["id"] for e in changed)
    assert "rule complaint" in changed[0]["reason"] and "投诉" in changed[0]["reason"]


def test_legal_words_make_a_ticket_urgent_and_plain_questions_change_nothing(ledger, triaging) -> None:
    tenant = random_ref("tenant-")
    urgent = ledger.execute(inbound(tenant, text="If this is not fixed I will contact my lawyer")).result["ticket_id"]
    plain = ledger.execute(inbound(tenant, text="Hello, what colours does this teapot come in?")).result["ticket_id"]
    triaging.catch_up()
    assert str(ticket_of(ledger, tenant, urgent).priority) == "urgent"
    assert [e["actor"]["kind"] for e in history(ledger, tenant, plain)].count("policy") == 0


def test_a_vip_and_a_second_message_about_the_same_order_within_a_day_each_raise_one_step(ledger, triaging) -> None:
    tenant = random_ref("tenant-")
    first = replace(inbound(tenant, text="Where is my parcel?", thread="t-1", user="u-1"), order_id="TB-1",
                    customer=c.CustomerHints(tier="vip"))
    ticket = ledger.execute(first).result["ticket_id"]
    triaging.catch_up()
    assert str(ticket_of(ledger, tenant, ticket).priority) == "high"  # normal, one step up for a VIP
    again = replace(inbound(tenant, text="Still nothing, where is it?", thread="t-1", user="u-1"), order_id="TB-1",
                    sent_at=SENT_AT + timedelta(hours=3))
    ledger.execute(again)
    triaging.catch_up()
    assert str(ticket_of(ledger, tenant, ticket).priority) == "urgent"  # and one more for the repeat contact


def test_triage_never_lowers_a_priority_a_person_set(ledger, triaging) -> None:
    tenant = random_ref("tenant-")
    ticket = ledger.execute(inbound(tenant, text="my parcel has not arrived", thread="t-2", user="u-2")).result["ticket_id"]
    ledger.execute(c.ChangeTicketPriority(context(tenant), UUID(ticket), priority="urgent"))
    triaging.catch_up()
    assert str(ticket_of(ledger, tenant, ticket).priority) == "urgent"
    assert str(ticket_of(ledger, tenant, ticket).category) == "logistics"
