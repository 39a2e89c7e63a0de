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


# -- the tenant's own rules --------------------------------------------------------------------

WOBBLE = {"id": "wobble", "name": "Wobbly teapots", "keywords": ["wobble", "摇晃"], "category": "product", "priority": "high"}


def define_rules(ledger, tenant: str, *rules: dict, reason: str = "our own words") -> int:  # type: ignore[no-untyped-def]
    ctx = replace(context(tenant), reason=reason)
    return ledger.execute(c.PutTriageRules(ctx, rules=list(rules))).result["version"]


def test_a_tenants_own_rules_decide_and_the_history_says_why(ledger, triaging) -> None:
    tenant = random_ref("tenant-")
    define_rules(ledger, tenant, WOBBLE)
    text = "The lid wobbles and the refund form is broken"
    ticket = ledger.execute(replace(inbound(tenant, text=text), customer=c.CustomerHints(tier="vip"))).result["ticket_id"]
    triaging.catch_up()

    found = ticket_of(ledger, tenant, ticket)
    assert (str(found.category), str(found.priority)) == ("product", "urgent")  # high by the rule, one step for a VIP
    events = history(ledger, tenant, ticket)
    message = next(e for e in events if e["type"] == "Ticket.CustomerMessageAdded")
    triaged = [e for e in events if e["actor"] == {"kind": "policy", "id": "triage"}]
    assert [e["type"] for e in triaged] == ["Ticket.CategoryChanged", "Ticket.PriorityChanged"]
    for event in triaged:
        assert event["causation_id"] == message["id"] and event["correlation_id"] == ticket
        assert event["reason"].startswith("triage by rule set v1: rule wobble v1 matched 'wobble'")
        assert "refund" not in event["reason"]  # the defaults are not this tenant's rules any more
    decision = triaged[0]["decision"]
    assert decision == triaged[1]["decision"]
    assert decision["rule_set"] == {"version": 1, "source": "tenant"}
    assert decision["matched_rule_ids"] == ["wobble"]
    assert decision["matched"] == [{"rule_id": "wobble", "version": 1, "keyword": "wobble"}]
    assert (decision["customer_tier"], decision["earlier_contacts_about_the_order_within_a_day"]) == ("vip", 0)
    assert (decision["priority_before"], decision["category_before"], decision["raised_from_priority"]) == ("normal", None, "normal")
    assert decision["text_length"] == len(text) and "language" in decision
    assert text not in str(decision)


def test_another_tenants_rules_never_apply(ledger, triaging) -> None:
    mine, other = random_ref("tenant-"), random_ref("tenant-")
    define_rules(ledger, other, WOBBLE)
    ticket = ledger.execute(inbound(mine, text="The lid wobbles")).result["ticket_id"]
    refund = ledger.execute(inbound(mine, text="I want a refund")).result["ticket_id"]
    triaging.catch_up()
    assert ticket_of(ledger, mine, ticket).category is None
    assert [e["actor"]["kind"] for e in history(ledger, mine, ticket)].count("policy") == 0
    triaged = [e for e in history(ledger, mine, refund) if e["actor"]["kind"] == "policy"]
    assert triaged and triaged[0]["reason"].startswith("triage by rule set v0 (defaults): rule refund v1")
    assert triaged[0]["decision"]["rule_set"] == {"version": 0, "source": "default"}


def test_a_revision_applies_to_later_messages_only_however_late_triage_runs(ledger, triaging) -> None:
    tenant = random_ref("tenant-")
    define_rules(ledger, tenant, WOBBLE)
    before = ledger.execute(inbound(tenant, text="The lid wobbles")).result["ticket_id"]
    # Revised before the policy read the first message: that message still gets the rules it came under.
    define_rules(ledger, tenant, {**WOBBLE, "category": "complaint", "priority": "urgent"}, reason="wobbles are complaints")
    after = ledger.execute(inbound(tenant, text="The lid wobbles")).result["ticket_id"]
    triaging.catch_up()

    assert (str(ticket_of(ledger, tenant, before).category), str(ticket_of(ledger, tenant, before).priority)) == ("product", "high")
    assert (str(ticket_of(ledger, tenant, after).category), str(ticket_of(ledger, tenant, after).priority)) == ("complaint", "urgent")
    reason_after = next(e for e in history(ledger, tenant, after) if e["actor"]["kind"] == "policy")["reason"]
    assert reason_after.startswith("triage by rule set v2: rule wobble v2 matched")


def test_a_tenant_with_no_rules_at_all_triages_by_tier_and_repeat_contact_only(ledger, triaging) -> None:
    tenant = random_ref("tenant-")
    define_rules(ledger, tenant)
    plain = ledger.execute(inbound(tenant, text="I want a refund, you are scammers")).result["ticket_id"]
    vip = ledger.execute(replace(inbound(tenant, text="I want a refund"), customer=c.CustomerHints(tier="vip"))).result["ticket_id"]
    triaging.catch_up()
    assert [e["actor"]["kind"] for e in history(ledger, tenant, plain)].count("policy") == 0
    assert str(ticket_of(ledger, tenant, vip).priority) == "high"
