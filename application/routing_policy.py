"""The routing policy: tickets go to the best available agent as soon as there is one.

- A customer message on a ticket with no agent: route it (application/route_ticket.py decides
  on the agents' state in the same append that stores the choice).
- A ticket solved, closed, merged or unassigned: its agent's slot is given back.
- A ticket handed to a team (by a person, or escalated to its escalation team): routed among
  the team's members.
- An agent coming online or giving a slot back: the most urgent waiting tickets (the inbox's
  order: SLA due first, then priority, then age) are routed again, as many as the agent has
  free slots (any equally qualified agent may get them: the decision is the same as ever).

Which agents and which waiting tickets exist is read from the read models through a
`RoutingDirectory` (they may lag by a batch: a choice is still made on the agents' own state).
"""
from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from ledgerdesk.domain.agent import Agent, Presence, is_agent_id
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.domain.ticket_values import TicketStatus

from . import commands as c
from .event_views import describe
from .policy import Trigger, policy_context
from .route_ticket import UNROUTABLE


class RoutingDirectory(Protocol):
    def agent_ids(self, tenant: str) -> list[str]:
        """The tenant's agents that may take a ticket now (online, a slot free), as the read models
        last saw them. A stale view costs nothing unsafe: the choice is made on the agents' own
        state, and an agent freeing a slot triggers routing of the waiting tickets."""
        ...

    def waiting_tickets(self, tenant: str, limit: int) -> list[UUID]:
        """The tenant's unassigned, unsolved tickets, most urgent first."""
        ...


class RoutingPolicy:
    name = "routing"
    event_types = frozenset({
        "Ticket.CustomerMessageAdded", "Ticket.StatusChanged", "Ticket.Unassigned", "Ticket.MergedInto",
        "Ticket.Assigned", "Ticket.TransferredToTeam", "Agent.PresenceChanged", "Agent.TicketReleased",
    })
    # A slot it gave back is a slot to fill: the release it caused leads on to the waiting tickets.
    own_event_types = frozenset({"Agent.TicketReleased"})

    def __init__(self, directory: RoutingDirectory) -> None:
        self.directory = directory

    def commands_for(self, trigger: Trigger, ledger: Any) -> list[Any]:
        if trigger.type.startswith("Agent."):
            return self._route_waiting(trigger, ledger)
        ticket = ledger.aggregate(trigger.tenant, Ticket, UUID(trigger.aggregate_id), field="ticket_id")
        if trigger.type == "Ticket.CustomerMessageAdded":
            return self._route(trigger, ticket, "a customer is waiting on a ticket with no agent")
        released = self._release(trigger, ticket, ledger)
        if trigger.type == "Ticket.TransferredToTeam":  # the team's members may take it now
            return released + self._route(trigger, ticket, f"the ticket was handed to team {trigger.data['team_id']}",
                                          index=len(released))
        return released

    def _route(self, trigger: Trigger, ticket: Ticket, reason: str, index: int = 0) -> list[Any]:
        if ticket.assignee_id is not None or ticket.status in UNROUTABLE or ticket.merged_into is not None:
            return []
        candidates = tuple(self.directory.agent_ids(trigger.tenant))
        if not candidates:  # nobody could take it now: it waits for a slot to free, at no cost
            return []
        return [c.RouteTicket(policy_context(self.name, trigger, reason=reason, index=index), ticket.id, candidates=candidates)]

    def _release(self, trigger: Trigger, ticket: Ticket, ledger: Any) -> list[Any]:
        """The slot a ticket held goes back when it leaves its agent: unassigned, given to another
        agent or team, merged, solved or closed; a ticket reopened with its agent takes one again."""
        if trigger.type == "Ticket.StatusChanged":
            to, before = TicketStatus(trigger.data["to_status"]), TicketStatus(trigger.data["from_status"])
            if to not in UNROUTABLE:
                return self._retake(trigger, ticket) if before in UNROUTABLE else []
            agent_id = ticket.assignee_id
        elif trigger.type == "Ticket.MergedInto":
            agent_id = ticket.assignee_id
        else:  # Unassigned, Assigned (to another agent), TransferredToTeam: whoever had it before
            agent_id = _assignee_before(ledger, ticket.id, trigger.version)
            if agent_id == trigger.data.get("agent_id"):
                return []
        # An id no agent can have (a free-form assignee) holds no slot to give back.
        if agent_id is None or not is_agent_id(agent_id):
            return []
        why = {"Ticket.Unassigned": "the ticket was unassigned", "Ticket.MergedInto": "the ticket was merged",
               "Ticket.Assigned": "the ticket was given to another agent",
               "Ticket.TransferredToTeam": "the ticket was handed to a team"}.get(
            trigger.type, f"the ticket is {trigger.data.get('to_status')}")
        ctx = policy_context(self.name, trigger, reason=f"{why}: agent {agent_id} has a slot free again")
        return [c.ReleaseTicket(ctx, agent_id, ticket.id)]

    def _retake(self, trigger: Trigger, ticket: Ticket) -> list[Any]:
        if ticket.assignee_id is None or not is_agent_id(ticket.assignee_id):
            return []
        ctx = policy_context(self.name, trigger, reason=f"the ticket was reopened: agent {ticket.assignee_id} holds its slot again")
        return [c.TakeTicket(ctx, ticket.assignee_id, ticket.id)]

    def _route_waiting(self, trigger: Trigger, ledger: Any) -> list[Any]:
        agent = ledger.aggregate(trigger.tenant, Agent, UUID(trigger.aggregate_id), field="agent_id")
        free = agent.capacity - agent.load
        if agent.presence is not Presence.ONLINE or free <= 0:
            return []
        waiting = self.directory.waiting_tickets(trigger.tenant, limit=free)
        if not waiting:
            return []
        # The agent whose change this is, even if the agents read model has not seen it yet.
        candidates = tuple(dict.fromkeys([agent.agent_id, *self.directory.agent_ids(trigger.tenant)]))
        reason = f"agent {agent.agent_id} can take {free} more: the most urgent waiting tickets are routed again"
        return [
            c.RouteTicket(policy_context(self.name, trigger, reason=reason, index=i), ticket_id, candidates=candidates)
            for i, ticket_id in enumerate(waiting)
        ]


def _assignee_before(ledger: Any, ticket_id: UUID, version: int) -> str | None:
    """The agent the ticket was assigned to just before its event at `version`."""
    for stored in reversed(ledger.recorder.select_events(ticket_id, lte=version - 1)):
        kind = describe(stored)
        if kind["type"] == "Ticket.Assigned":
            return kind["data"]["agent_id"]
        if kind["type"] in ("Ticket.Unassigned", "Ticket.TransferredToTeam"):
            return None
    return None
