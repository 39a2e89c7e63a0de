"""Events change shape over time; the events stored before still load, replay and project.

tests/fixtures/events_before_2026_12_03.json holds a small shop's history as ledgerdesk wrote it
before SLA escalation (SlaPolicy.Defined gained `escalation` and class_version 2, with an upcast)
and capacity by channel kind (Agent.Registered and Agent.TicketTaken gained optional fields whose
class defaults stand for "not recorded then"). The rule for changing an event is in the README.
"""
from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from ledgerdesk.application import commands as c
from ledgerdesk.domain.agent import Agent
from ledgerdesk.domain.sla_policy import DEFAULT_ESCALATION, SlaPolicy
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.projections import parking
from ledgerdesk.projections.agents import queries as agent_queries
from ledgerdesk.projections.inbox import queries as inbox_queries
from ledgerdesk.projections.sla import queries as sla_queries
from tests.integration.test_concurrency import context

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "events_before_2026_12_03.json"
TENANT = "old-shop"


def stored_old_history(ledger) -> dict[str, UUID]:  # type: ignore[no-untyped-def]
    events = json.loads(FIXTURE.read_text())["events"]
    ledger.recorder.insert_events([
        StoredEvent(UUID(e["originator_id"]), e["originator_version"], e["topic"], e["state"].encode()) for e in events
    ])
    first = {}
    for e in events:
        first.setdefault(e["topic"].split(":")[1].split(".")[0], UUID(e["originator_id"]))
    return first


def test_an_old_history_loads_replays_projects_and_takes_new_commands(ledger, projector, read_store) -> None:
    ids = stored_old_history(ledger)

    policy = ledger.aggregate(TENANT, SlaPolicy, ids["SlaPolicy"])
    assert policy.escalation == DEFAULT_ESCALATION  # upcast from version 1
    agent = ledger.aggregate(TENANT, Agent, ids["Agent"])
    assert agent.capacity_by_kind == {} and agent.load == 0 and agent.presence.value == "online"
    ticket = ledger.aggregate(TENANT, Ticket, ids["Ticket"])
    assert str(ticket.status) == "solved" and ticket.assignee_id == "li.na" and ticket.escalations == []
    history = ledger.history(TENANT, SlaPolicy, ids["SlaPolicy"], 0, 10)["items"]
    assert "escalation" not in history[0]["data"] and history[0]["decision"] is None

    projector.catch_up()
    with read_store.reading() as conn:
        assert [p for p in parking.parked_events(conn, {m.name: 1 for m in projector.models}) if p.tenant == TENANT] == []
    [row] = inbox_queries.inbox(read_store, TENANT, "all", {"status": ["solved"]}, limit=10, now=ticket.modified_on)["items"]
    assert row["ticket_id"] == str(ids["Ticket"]) and row["status"] == "solved"
    [shown] = sla_queries.sla_policies(read_store, TENANT)
    assert shown["escalation"] == DEFAULT_ESCALATION
    assert agent_queries.agents_list(read_store, TENANT)["items"][0]["agent_id"] == "li.na"

    # New commands on old aggregates write the new shapes beside the old ones.
    ledger.execute(c.ReviseSlaPolicy(context(TENANT), ids["SlaPolicy"], None, name="Standard", rank=1, match={},
                                     targets={"first_reply": 1800}, escalation={"on_breach": {"notify": True}}))
    assert ledger.aggregate(TENANT, SlaPolicy, ids["SlaPolicy"]).escalation["on_warning"]["notify"] is False
    ledger.execute(c.PutAgent(context(TENANT), "li.na", "Li Na", ("support",), {"languages": ["zh"]}, 3,
                              capacity_by_channel_kind={"chat": 1}))
    assert ledger.aggregate(TENANT, Agent, ids["Agent"]).capacity_by_kind == {"chat": 1}
    projector.catch_up()
    with read_store.reading() as conn:
        assert [p for p in parking.parked_events(conn, {m.name: 1 for m in projector.models}) if p.tenant == TENANT] == []
