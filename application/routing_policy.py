"""The routing policy: tickets go to the best available agent as soon as there is one.

- A customer message on a ticket with no agent: route it (application/route_ticket.py decides
  on the agents' state in the same append that stores the choice).
- A ticket solved, closed, merged or unassigned: its agent's slot is given back; reopened, its
  agent takes it again, or, not online or full, loses it to routing.
- A ticket handed to a team (by a person, or escalated to its escalation team), or unassigned:
  routed again (a team's ticket among the team's members).
- A ticket nobody can take is queued once, with the reason (who was weighed and why not).
- An agent offline for longer than the grace period (a timer, projections/timer_sweep.py): their
  unsolved tickets are reclaimed, which unassigns them, and so they are routed again.
- An agent coming online or giving a slot back: the most urgent waiting tickets (the inbox's
  order: SLA due first, then priority, then age) are routed again, as many as the agent has
  free slots (any equally qualified agent may get them: the decision is the same as ever).

Which agents and which waiting tickets exist is read from the read models through a
`RoutingDirectory` (they may lag by a batch: a choice is still made on the agents' own state).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from uuid import NAMESPACE_URL, UUID, uuid5

from ledgerdesk.domain.agent import Agent, Presence, is_agent_id
from ledgerdesk.domain.audit import ActorKind
from ledgerdesk.domain.routing import AgentCandidate, Assign, TicketNeeds, exclusion, route
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.domain.ticket_values import TicketStatus

from . import commands as c
from .event_views import describe
from .policy import Trigger, policy_context
from .route_ticket import UNROUTABLE, candidate, needs_of

OFFLINE_GRACE_ENDED = "Agent.OfflineGraceEnded"  # a timer's trigger, not an event of the log
GRACE_TIMER_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.invalid/offline-grace-timers")


def grace_trigger(tenant: str, ticket_id: str, agent_id: str, offline_since: datetime) -> Trigger:
    """The timer of one ticket held by an agent who went offline at `offline_since`."""
    since = offline_since.isoformat()
    return Trigger(
        event_id=str(uuid5(GRACE_TIMER_NAMESPACE, f"{ticket_id}:{agent_id}:{since}")),
        type=OFFLINE_GRACE_ENDED, aggregate_id=ticket_id, version=0, tenant=tenant,
        actor_kind=ActorKind.SYSTEM.value, actor_id="presence-timer",
        data={"agent_id": agent_id, "offline_since": since},
    )


class RoutingDirectory(Protocol):
    def agent_ids(self, tenant: str, needs: TicketNeeds) -> list[str]:
        """The tenant's agents that may take the ticket now (online, a slot free, fit for `needs`),
        as the read models last saw them. A stale view costs nothing unsafe: the choice is made on
        the agents' own state, and an agent freeing a slot triggers routing of the waiting tickets."""
        ...

    def waiting_tickets(self, tenant: str, limit: int,
                        fits: Callable[[TicketNeeds], bool] | None = None) -> list[TicketNeeds]:
        """The tenant's unassigned, unsolved tickets, most urgent first: those `fits` accepts."""
        ...

    def caught_up_to(self, position: int | None) -> None:
        """Waits (briefly) until the read models it answers from have applied the log up to
        `position`: a policy following the log may be ahead of them, and would otherwise miss an
        agent who came online just before the message it is routing."""
        ...

    def agent_candidates(self, tenant: str) -> list[AgentCandidate]:
        """Every agent of the tenant (up to a bound) as the read models see them, to say why none
        could take a ticket without loading each agent."""
        ...


class RoutingPolicy:
    name = "routing"
    event_types = frozenset({
        "Ticket.CustomerMessageAdded", "Ticket.StatusChanged", "Ticket.Unassigned", "Ticket.MergedInto",
        "Ticket.Assigned", "Ticket.TransferredToTeam", "Agent.PresenceChanged", "Agent.TicketReleased",
        OFFLINE_GRACE_ENDED,
    })
    # A slot it gave back is a slot to fill: the release it caused leads on to the waiting tickets;
    # a ticket it reclaimed from an absent agent leads on to its release and its routing.
    own_event_types = frozenset({"Agent.TicketReleased", "Ticket.Unassigned"})

    def __init__(self, directory: RoutingDirectory) -> None:
        self.directory = directory

    def commands_for(self, trigger: Trigger, ledger: Any) -> list[Any]:
        self.directory.caught_up_to(trigger.position)
        if trigger.type == OFFLINE_GRACE_ENDED:
            return self._reclaim(trigger)
        if trigger.type.startswith("Agent."):
            return self._route_waiting(trigger, ledger)
        ticket = ledger.aggregate(trigger.tenant, Ticket, UUID(trigger.aggregate_id), field="ticket_id")
        if trigger.type == "Ticket.CustomerMessageAdded":
            return self._route(trigger, ticket, "a customer is waiting on a ticket with no agent")
        released = self._release(trigger, ticket, ledger)
        if trigger.type in ("Ticket.TransferredToTeam", "Ticket.Unassigned"):  # someone else may take it now
            why = (f"the ticket was handed to team {trigger.data['team_id']}" if trigger.type == "Ticket.TransferredToTeam"
                   else f"the ticket was taken from agent {trigger.data['agent_id']}")
            return released + self._route(trigger, ticket, why, index=len(released))
        return released

    def _route(self, trigger: Trigger, ticket: Ticket, reason: str, index: int = 0) -> list[Any]:
        if ticket.assignee_id is not None or ticket.status in UNROUTABLE or ticket.merged_into is not None:
            return []
        needs = needs_of(ticket)
        candidates = tuple(self.directory.agent_ids(trigger.tenant, needs=needs))
        if candidates:
            return [c.RouteTicket(policy_context(self.name, trigger, reason=reason, index=index), ticket.id,
                                  candidates=candidates)]
        if ticket.queued:  # it waits already, its reason said: a slot freeing up will route it
            return []
        # Nobody the read models know of can take it: the queueing says who was weighed and why
        # not, from their view of each agent (a stale view only delays: an agent coming online or
        # freeing a slot routes the waiting tickets on the agents' own state). A tenant with no
        # agents does not route at all, and its tickets stay as they are.
        weighed = self.directory.agent_candidates(trigger.tenant)
        if not weighed:
            return []
        decision = route(needs, weighed)
        if isinstance(decision, Assign):  # a limit the read models cannot see (a kind's): decide on the agent
            return [c.RouteTicket(policy_context(self.name, trigger, reason=reason, index=index), ticket.id,
                                  candidates=(decision.agent_id,))]
        ctx = policy_context(self.name, trigger, reason=decision.reason, index=index, decision=decision.inputs)
        return [c.QueueTicket(ctx, ticket.id)]

    def _reclaim(self, trigger: Trigger) -> list[Any]:
        agent_id, since = trigger.data["agent_id"], trigger.data["offline_since"]
        reason = f"agent {agent_id} has been offline since {since}, longer than the grace period: the ticket is routed again"
        ctx = policy_context(self.name, trigger, reason=reason, decision=dict(trigger.data))
        return [c.ReclaimTicket(ctx, UUID(trigger.aggregate_id), agent_id=agent_id,
                                offline_since=datetime.fromisoformat(since))]

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
            if trigger.type == "Ticket.Assigned" and agent_id == trigger.data["agent_id"]:
                return []  # given to the agent who had it: the slot stays taken
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
        return [c.RetakeTicket(ctx, ticket.id, agent_id=ticket.assignee_id)]

    def _route_waiting(self, trigger: Trigger, ledger: Any) -> list[Any]:
        agent = ledger.aggregate(trigger.tenant, Agent, UUID(trigger.aggregate_id), field="agent_id")
        free = agent.capacity - agent.load
        if agent.presence is not Presence.ONLINE or free <= 0:
            return []
        # The most urgent of the tickets this agent could take: one it lacks the skills for would
        # only wait again, while another further down the queue stays unoffered.
        waiting = self.directory.waiting_tickets(
            trigger.tenant, limit=free, fits=lambda needs: exclusion(needs, candidate(agent, needs.channel)) is None)
        reason = f"agent {agent.agent_id} can take {free} more: the most urgent waiting tickets are routed again"
        commands = []
        for i, needs in enumerate(waiting):
            # The agent whose change this is, even if the agents read model has not seen it yet.
            candidates = tuple(dict.fromkeys([agent.agent_id, *self.directory.agent_ids(trigger.tenant, needs=needs)]))
            commands.append(c.RouteTicket(policy_context(self.name, trigger, reason=reason, index=i),
                                          UUID(needs.ticket_id), candidates=candidates))
        return commands


def _assignee_before(ledger: Any, ticket_id: UUID, version: int) -> str | None:
    """The agent the ticket was assigned to just before its event at `version`."""
    for stored in reversed(ledger.recorder.select_events(ticket_id, lte=version - 1)):
        kind = describe(stored)
        if kind["type"] == "Ticket.Assigned":
            return kind["data"]["agent_id"]
        if kind["type"] in ("Ticket.Unassigned", "Ticket.TransferredToTeam"):
            return None
    return None
