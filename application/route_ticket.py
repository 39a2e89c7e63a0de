"""Routing a ticket: the decision (domain/routing.py) taken on the agents' state in the same
unit of work that stores it, so capacity holds whoever routes at the same time.

The chosen agent takes a slot (Agent.TicketTaken) and the ticket is assigned, in one append,
with the decision's reason on both events. Two routers that chose the same last slot both wrote
the agent's next version: the store keeps one and the Ledger decides the other again, on fresh
state, where the agent is full. When nobody can take it, the ticket is queued (Ticket.Queued)
with the decision's reason and inputs.

Reclaiming takes a ticket back from an agent who stayed offline past the grace period; retaking
gives a reopened ticket's slot back to its agent, or, when that agent cannot take it, the ticket to
routing (never an assignee without a slot: capacity would no longer count it).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from ledgerdesk.domain.agent import Agent, Presence, checked_agent_id
from ledgerdesk.domain.channel import Channel, kind_of
from ledgerdesk.domain.routing import AgentCandidate, Assign, Skills, TicketNeeds, route
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.domain.ticket_values import TicketStatus

from . import commands as c
from .unit_of_work import UnitOfWork

UNROUTABLE = (TicketStatus.SOLVED, TicketStatus.CLOSED)


def candidate(agent: Agent, channel: Channel | None = None) -> AgentCandidate:
    """The agent as routing weighs them, for a ticket on `channel` (its kind's load and capacity)."""
    kind = None if channel is None else kind_of(channel)
    return AgentCandidate(
        agent_id=agent.agent_id, tenant=agent.tenant, capacity=agent.capacity, load=agent.load, presence=agent.presence,
        teams=frozenset(agent.teams),
        skills=Skills(languages=frozenset(agent.skills.get("languages", ())),
                      categories=frozenset(agent.skills.get("categories", ())),
                      channels=frozenset(agent.skills.get("channels", ()))),
        last_assigned=agent.taken_total or None,
        kind_load=0 if kind is None else agent.load_of(kind),
        kind_capacity=None if kind is None or str(kind) not in agent.capacity_by_kind else agent.kind_capacity(kind),
    )


def needs_of(ticket: Ticket) -> TicketNeeds:
    return TicketNeeds(
        ticket_id=str(ticket.id), tenant=ticket.tenant, channel=ticket.channel, priority=ticket.priority,
        opened_at=ticket.created_on, language=ticket.language, category=ticket.category, team=ticket.team_id,
    )


def route_ticket(uow: UnitOfWork, cmd: c.RouteTicket) -> dict[str, Any]:
    ticket = uow.get(Ticket, cmd.ticket_id, field="ticket_id", expected_version=cmd.expected_version)
    answer: dict[str, Any] = {"ticket_id": str(ticket.id), "assignee_id": ticket.assignee_id}
    if ticket.assignee_id is not None or ticket.status in UNROUTABLE or ticket.merged_into is not None:
        return {**answer, "routed": False, "reason": "the ticket has an agent, is solved or closed, or was merged"}
    agents = [uow.find(Agent, Agent.id_for(uow.tenant, checked_agent_id(agent_id))) for agent_id in cmd.candidates]
    decision = route(needs_of(ticket), [candidate(a, ticket.channel) for a in agents if a is not None])
    if not isinstance(decision, Assign):
        # Said once in the history, until the ticket is assigned or moves: why nobody took it.
        ticket.queue(replace(uow.meta, reason=decision.reason, decision=decision.inputs), uow.at)
        return {**answer, "routed": False, "reason": decision.reason, "queue": decision.team}
    chosen = next(a for a in agents if a is not None and a.agent_id == decision.agent_id)
    meta = replace(uow.meta, reason=decision.reason, decision=decision.inputs)
    chosen.take(meta, uow.at, ticket.id, kind_of(ticket.channel))
    ticket.assign(meta, uow.at, chosen.agent_id, ticket.team_id)
    return {**answer, "assignee_id": chosen.agent_id, "routed": True, "reason": decision.reason}


def reclaim_ticket(uow: UnitOfWork, cmd: c.ReclaimTicket) -> dict[str, Any]:
    """The ticket leaves an agent who stayed offline past the grace period; routing, seeing it
    unassigned, gives the slot back and finds it another agent."""
    ticket = uow.get(Ticket, cmd.ticket_id, field="ticket_id", expected_version=cmd.expected_version)
    agent = uow.find(Agent, Agent.id_for(uow.tenant, checked_agent_id(cmd.agent_id)))
    still_away = (agent is not None and agent.presence is Presence.OFFLINE and agent.presence_since == cmd.offline_since)
    if ticket.assignee_id != cmd.agent_id or not still_away or ticket.status in UNROUTABLE:
        return {"ticket_id": str(ticket.id), "assignee_id": ticket.assignee_id, "reclaimed": False}
    ticket.unassign(uow.meta, uow.at)
    return {"ticket_id": str(ticket.id), "assignee_id": None, "reclaimed": True}


def retake_ticket(uow: UnitOfWork, cmd: c.RetakeTicket) -> dict[str, Any]:
    """A reopened ticket's agent takes its slot again, on the agent's state now: online and under
    capacity, as any take. Otherwise the ticket is unassigned with the reason, and routing, seeing
    it unassigned, finds it an agent who is there and has room."""
    ticket = uow.get(Ticket, cmd.ticket_id, field="ticket_id", expected_version=cmd.expected_version)
    answer: dict[str, Any] = {"ticket_id": str(ticket.id), "assignee_id": ticket.assignee_id, "retaken": False}
    if ticket.assignee_id != cmd.agent_id or ticket.status in UNROUTABLE or ticket.merged_into is not None:
        return answer
    agent = uow.find(Agent, Agent.id_for(uow.tenant, checked_agent_id(cmd.agent_id)))
    if agent is None:  # a free-form assignee, no agent of ours: it holds no slot to take
        return answer
    if agent.holds(ticket.id) or (agent.presence is Presence.ONLINE and agent.load < agent.capacity):
        agent.take(uow.meta, uow.at, ticket.id)
        return {**answer, "retaken": True}
    why = (f"holds {agent.load} tickets, its capacity is {agent.capacity}" if agent.presence is Presence.ONLINE
           else f"is {agent.presence}")
    reason = f"the ticket was reopened but agent {agent.agent_id} {why}: it is routed again"
    ticket.unassign(replace(uow.meta, reason=reason), uow.at)
    return {**answer, "assignee_id": None}


def queue_ticket(uow: UnitOfWork, cmd: c.QueueTicket) -> dict[str, Any]:
    """The routing policy found nobody (on the read models' view): the ticket waits, said once."""
    ticket = uow.get(Ticket, cmd.ticket_id, field="ticket_id", expected_version=cmd.expected_version)
    if ticket.status not in UNROUTABLE and ticket.merged_into is None:
        ticket.queue(uow.meta, uow.at)
    return {"ticket_id": str(ticket.id), "queued": ticket.queued}
