"""The routing policy: tickets go to the best available agent as soon as there is one.

- A customer message on a ticket with no agent: route it (application/route_ticket.py decides
  on the agents' state in the same append that stores the choice).
- A ticket solved, closed, merged or unassigned: its agent's slot is given back.
- An agent coming online or giving a slot back: the most urgent waiting tickets (the inbox's
  order: SLA due first, then priority, then age) are routed again, as many as the agent has
  free slots (any equally qualified agent may get them: the decision is the same as ever).

Which agents and which waiting tickets exist is read from the read models through a
`RoutingDirectory` (they may lag by a batch: a choice is still made on the agents' own state).
"""
from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from ledgerdesk.domain.agent import Agent, Presence
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.domain.ticket_values import TicketStatus

from . import commands as c
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
        "Agent.PresenceChanged", "Agent.TicketReleased",
    })
    # A slot it gave back is a slot to fill: the release it caused leads on to the waiting tickets.
    own_event_types = frozenset({"Agent.TicketReleased"})

    def __init__(self, directory: RoutingDirectory) -> None:
        self.directory = directory

    def commands_for(self, trigger: Trigger, ledger: Any) -> list[Any]:
        if trigger.type.startswith("Agent."):
            return self._route_waiting(trigger, ledger)
        ticket_id = UUID(trigger.aggregate_id)
        ticket = ledger.aggregate(trigger.tenant, Ticket, ticket_id, field="ticket_id")
        if trigger.type == "Ticket.CustomerMessageAdded":
            if ticket.assignee_id is not None or ticket.status in UNROUTABLE:
                return []
            candidates = tuple(self.directory.agent_ids(trigger.tenant))
            if not candidates:  # nobody could take it now: it waits for a slot to free, at no cost
                return []
            ctx = policy_context(self.name, trigger, reason="a customer is waiting on a ticket with no agent")
            return [c.RouteTicket(ctx, ticket_id, candidates=candidates)]
        return self._release(trigger, ticket)

    def _release(self, trigger: Trigger, ticket: Ticket) -> list[Any]:
        if trigger.type == "Ticket.Unassigned":
            agent_id = trigger.data.get("agent_id")
        elif trigger.type == "Ticket.StatusChanged" and TicketStatus(trigger.data["to_status"]) not in UNROUTABLE:
            return []
        else:
            agent_id = ticket.assignee_id
        if agent_id is None:
            return []
        why = {"Ticket.Unassigned": "the ticket was unassigned", "Ticket.MergedInto": "the ticket was merged"}.get(
            trigger.type, f"the ticket is {trigger.data.get('to_status')}")
        ctx = policy_context(self.name, trigger, reason=f"{why}: agent {agent_id} has a slot free again")
        return [c.ReleaseTicket(ctx, agent_id, ticket.id)]

    def _route_waiting(self, trigger: Trigger, ledger: Any) -> list[Any]:
        agent = ledger.aggregate(trigger.tenant, Agent, UUID(trigger.aggregate_id), field="agent_id")
        free = agent.capacity - agent.load
        if agent.presence is not Presence.ONLINE or free <= 0:
            return []
        waiting = self.directory.waiting_tickets(trigger.tenant, limit=free)
        if not waiting:
            return []
        candidates = tuple(self.directory.agent_ids(trigger.tenant))
        reason = f"agent {agent.agent_id} can take {free} more: the most urgent waiting tickets are routed again"
        return [
            c.RouteTicket(policy_context(self.name, trigger, reason=reason, index=i), ticket_id, candidates=candidates)
            for i, ticket_id in enumerate(waiting)
        ]
