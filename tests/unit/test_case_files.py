"""Case files without a database: the timeline's order, and the offline check catching an edited entry,
an edited proof, a removed event and reordered events ([audit] case files)."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from ledgerdesk.application.case_files.build import assemble_case
from ledgerdesk.application.case_files.entries import StoredStep, case_entries
from ledgerdesk.application.case_files.proof import chained_proof
from ledgerdesk.application.case_files.verification import check_case
from ledgerdesk.application.event_views import event_id_text

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 11, 8, 0, tzinfo=timezone.utc)
TENANT = "acme-tea"


class Stream:
    """A stream's events as the store would hold them (transcoded JSON state)."""

    def __init__(self, kind: str) -> None:
        self.id, self.kind, self.events = uuid4(), kind, []

    def add(self, name: str, at: datetime, actor: tuple[str, str] = ("integrator", "taobao-connector"),
            caused_by: str | None = None, reason: str | None = None, **data: Any) -> str:
        version = len(self.events) + 1
        state = {"timestamp": {"_type_": "datetime_iso", "_data_": at.isoformat()},
                 "meta": {"tenant": TENANT, "actor_kind": actor[0], "actor_id": actor[1], "command_id": "c", "correlation_id": "c",
                          "causation_id": caused_by, "reason": reason, "decision": {"saw": name} if actor[0] == "policy" else None},
                 **data}
        topic = f"ledgerdesk.domain.{self.kind.lower()}:{self.kind}.{name}"
        self.events.append(StoredEvent(self.id, version, topic, json.dumps(state).encode()))
        return event_id_text(str(self.id), version)

    def proof(self) -> dict[str, Any]:
        return chained_proof(self.id, self.events)


def story() -> tuple[Stream, Stream]:
    """A buyer writes on Taobao, a ticket opens; a policy escalates it; an agent replies and solves it."""
    conversation, ticket = Stream("Conversation"), Stream("Ticket")
    conversation.add("Started", T0, channel="taobao", external_thread_id="t-1", customer_id=str(uuid4()))
    received = conversation.add("InboundMessageReceived", T0, text="订单 TB-1 <script>alert(1)</script>", order_id="TB-1",
                                message_id=str(uuid4()), external_message_id="m-1", sent_at=T0.isoformat(), attachments=[])
    ticket.add("Opened", T0, caused_by=received, customer_id=str(uuid4()), subject="订单 TB-1", channel="taobao",
               priority="normal", category=None)
    conversation.add("LinkedToTicket", T0, caused_by=received, ticket_id=str(ticket.id))
    ticket.add("CustomerMessageAdded", T0, caused_by=received, conversation_id=str(conversation.id), message_id=str(uuid4()),
               channel="taobao", text="订单 TB-1", sent_at=T0.isoformat())
    ticket.add("OrderLinked", T0, caused_by=received, order_id="TB-1")
    escalated = ticket.add("Escalated", T0 + timedelta(minutes=10), actor=("policy", "escalation"), reason="first_reply due",
                           metric="first_reply", cycle=1, levels=["breach"], notify=True)
    ticket.add("PriorityChanged", T0 + timedelta(minutes=10), actor=("policy", "escalation"), caused_by=escalated,
               reason="first_reply due", from_priority="normal", to_priority="urgent")
    ticket.add("ReplySent", T0 + timedelta(minutes=12), actor=("agent", "li.na"), conversation_id=str(conversation.id),
               message_id=str(uuid4()), text="已为您催促发货")
    ticket.add("StatusChanged", T0 + timedelta(minutes=12), actor=("agent", "li.na"), from_status="new", to_status="open")
    ticket.add("StatusChanged", T0 + timedelta(minutes=30), actor=("agent", "li.na"), from_status="open", to_status="solved")
    return conversation, ticket


def case_of(*streams: Stream) -> dict[str, Any]:
    now = T0 + timedelta(hours=1)
    scope = {"kind": "order", "field": "order_id", "value": "TB-1", "ticket_ids": [], "conversation_ids": [], "customer_ids": []}
    sla = {"judged": "test", "policy": None, "clocks": [], "note": None}
    # Through JSON, as a file is exported and read back.
    return json.loads(json.dumps(assemble_case(TENANT, scope, [s.proof() for s in streams], now, False, now, lambda _: sla)))


def test_the_timeline_is_in_time_order_with_causes_before_their_effects_and_streams_in_version_order() -> None:
    conversation, ticket = story()
    entries = case_of(ticket, conversation)["entries"]
    order = [(e["type"], e["version"]) for e in entries]
    assert order[:2] == [("Conversation.Started", 1), ("Conversation.InboundMessageReceived", 2)]
    # caused by the message, in the same instant: after it, whichever stream, each stream in version order
    assert set(order[2:6]) == {("Conversation.LinkedToTicket", 3), ("Ticket.Opened", 1), ("Ticket.CustomerMessageAdded", 2),
                               ("Ticket.OrderLinked", 3)}
    ticket_versions = [e["version"] for e in entries if e["stream"] == "ticket"]
    assert ticket_versions == sorted(ticket_versions)
    assert [e["type"] for e in entries[6:]] == ["Ticket.Escalated", "Ticket.PriorityChanged", "Ticket.ReplySent",
                                                 "Ticket.StatusChanged", "Ticket.StatusChanged"]
    times = [datetime.fromisoformat(e["occurred_at"]) for e in entries]
    assert times == sorted(times)


def test_an_automatic_step_names_its_cause_in_the_case_and_the_reply_its_channel() -> None:
    entries = {(e["type"], e["version"]): e for e in case_of(*story())["entries"]}
    escalated, raised = entries[("Ticket.Escalated", 4)], entries[("Ticket.PriorityChanged", 5)]
    assert raised["automatic"] and raised["cause_in_case"] and raised["causation_id"] == escalated["id"]
    assert raised["decision"] == {"saw": "PriorityChanged"} and raised["reason"] == "first_reply due"
    assert raised["summary"] == "priority normal → urgent"
    reply = entries[("Ticket.ReplySent", 6)]
    assert reply["channel"] == "taobao" and not reply["automatic"] and reply["actor"] == {"kind": "agent", "id": "li.na"}


def test_an_untouched_case_checks() -> None:
    check = check_case(case_of(*story()))
    assert check.problems == [] and check.verified
    assert (check.streams, check.events, check.entries) == (2, 11, 11)


def test_a_case_order_does_not_depend_on_the_order_streams_are_given() -> None:
    conversation, ticket = story()
    assert case_of(conversation, ticket)["entries"] == case_of(ticket, conversation)["entries"]


def test_an_edited_entry_is_caught_naming_the_entry_and_the_field() -> None:
    case = case_of(*story())
    reply = next(i for i, e in enumerate(case["entries"]) if e["type"] == "Ticket.ReplySent")
    case["entries"][reply]["data"]["text"] = "we never promised anything"
    problems = check_case(case).problems
    assert len(problems) == 1 and f"entry {reply + 1} " in problems[0] and "Ticket.ReplySent" in problems[0]
    assert problems[0].endswith("in: data")


def test_an_edited_actor_of_a_readable_entry_is_caught() -> None:
    case = case_of(*story())
    case["entries"][-1]["actor"]["id"] = "someone-else"
    assert any("differs from the event as stored in: actor" in p for p in check_case(case).problems)


def test_an_edited_proof_state_is_caught_at_its_stream_and_version() -> None:
    conversation, ticket = story()
    case = case_of(conversation, ticket)
    stream = next(s for s in case["proof"]["streams"] if s["stream_id"] == str(ticket.id))
    state = json.loads(stream["events"][5]["state"])
    stream["events"][5]["state"] = json.dumps({**state, "text": "we refuse"})
    problems = check_case(case).problems
    assert f"stream {ticket.id} v6: does not hash to its claimed hash" in problems[0]
    # and the readable part no longer derives from it
    assert any("Ticket.ReplySent: differs from the event as stored in: data, summary" in p for p in problems)


def test_a_removed_event_is_caught_in_the_proof_and_in_the_entries() -> None:
    conversation, ticket = story()
    case = case_of(conversation, ticket)
    stream = next(s for s in case["proof"]["streams"] if s["stream_id"] == str(ticket.id))
    del stream["events"][3]  # the Escalated event: v4
    problems = check_case(case).problems
    assert f"stream {ticket.id}: v4 missing before v5 (removed)" in problems
    assert any("no such event in the proof" in p and f"{ticket.id} v4" in p for p in problems)


def test_an_entry_removed_from_the_readable_part_alone_is_caught() -> None:
    case = case_of(*story())
    gone = case["entries"].pop(6)
    assert check_case(case).problems == [f"{gone['stream_id']} v{gone['version']} {gone['type']}: in the proof but not among the "
                                         "entries (removed)"]


def test_reordered_events_in_the_proof_are_caught() -> None:
    conversation, ticket = story()
    case = case_of(conversation, ticket)
    events = next(s for s in case["proof"]["streams"] if s["stream_id"] == str(ticket.id))["events"]
    events[5], events[6] = events[6], events[5]
    problems = check_case(case).problems
    assert any("v6: out of order" in p for p in problems) or any("v7" in p and "missing" in p for p in problems)
    assert any("does not hash to its claimed hash" in p for p in problems)


def test_reordered_entries_are_caught() -> None:
    case = case_of(*story())
    entries = case["entries"]
    entries[8], entries[9] = entries[9], entries[8]
    assert check_case(case).problems == [f"entries out of order from entry 9 ({entries[8]['stream_id']} v{entries[8]['version']})"]


def test_a_forged_head_and_digest_are_caught() -> None:
    case = case_of(*story())
    case["proof"]["streams"][0]["head_hash"] = "0" * 64
    problems = check_case(case).problems
    assert any("head_hash is not its last event's hash" in p for p in problems)
    assert "the proof's digest does not name its streams' heads" in problems


def test_an_edited_ticket_fact_is_caught() -> None:
    case = case_of(*story())
    case["tickets"][0]["status"] = "open"
    assert check_case(case).problems == [f"ticket {case['tickets'][0]['ticket_id']}: differs from its events in: status"]


def test_an_event_after_the_moment_or_of_another_tenant_is_caught() -> None:
    case = case_of(*story())
    case["as_of"] = (T0 + timedelta(minutes=20)).isoformat()
    assert any("after the case's moment" in p for p in check_case(case).problems)
    case = case_of(*story())
    case["tenant"] = "another-shop"
    assert any("another tenant's event" in p for p in check_case(case).problems)


def test_what_is_no_case_file_is_refused_not_crashed_on() -> None:
    for junk in (None, [], {"format": "other"}, {"format": "ledgerdesk-case/1", "proof": {"algorithm": "md5"}}):
        assert not check_case(junk).verified
    case = case_of(*story())
    case["proof"]["streams"][0]["events"][0]["state"] = "not json"
    assert not check_case(copy.deepcopy(case)).verified


def test_entries_are_made_from_stored_text_alone() -> None:
    conversation, _ = story()
    steps = {str(conversation.id): [StoredStep(str(conversation.id), e.originator_version, e.topic, e.state.decode())
                                    for e in conversation.events]}
    [started, received, linked] = case_entries(steps)
    assert received["summary"] == "customer wrote on taobao about order TB-1: 订单 TB-1 <script>alert(1)</script>"
    assert linked["ticket_id"] is not None and started["ticket_id"] is None
