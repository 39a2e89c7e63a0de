"""What the routing policy looks up in the read models: a tenant's agents (agents read model) and
its tickets waiting for one (the inbox's unassigned view, in the inbox's order: SLA due first,
then priority, then age)."""
from __future__ import annotations

from uuid import UUID

from ledgerdesk.application.ports import Clock, system_clock
from ledgerdesk.domain.routing import AgentCandidate, Skills, TicketNeeds, choice_key, exclusion

from .agents import queries as agents
from .inbox import queries as inbox
from .store import ReadStore

WAITING = ("new", "open", "pending")
# The most agents a routing decision weighs on their aggregates' state (a load each). Up to this
# many qualified agents the turn is exact; beyond, a burst routed before the read model sees its
# own assignments may give the same agents a second ticket before the others get a first.
CANDIDATES = 64


class ReadModelRoutingDirectory:
    def __init__(self, store: ReadStore, clock: Clock = system_clock) -> None:
        self.store = store
        self.clock = clock

    def agent_ids(self, tenant: str, available_only: bool = True, needs: TicketNeeds | None = None) -> list[str]:
        if not available_only:  # to say why none could take a ticket: a page of them is plenty
            return [item["agent_id"] for item in agents.agents_list(self.store, tenant, limit=agents.MAX_LIMIT)["items"]]
        available = agents.available_agents(self.store, tenant)
        if needs is None:
            return [row["agent_id"] for row in available]
        # Each candidate costs the router a load of its aggregate, where the choice is made on
        # fresh state: only the agents whose profile fits the ticket, and of those the first
        # `CANDIDATES` in the router's own order (least filled, then next in turn) as the read
        # model sees them. A lag in it shifts the turn a little, never past a capacity.
        fitting = [_as_candidate(tenant, row) for row in available]
        fitting = [agent for agent in fitting if exclusion(needs, agent) is None]
        return [agent.agent_id for agent in sorted(fitting, key=choice_key)[:CANDIDATES]]

    def waiting_tickets(self, tenant: str, limit: int) -> list[UUID]:
        page = inbox.inbox(self.store, tenant, "unassigned", {"status": list(WAITING)},
                           limit=max(1, min(limit, inbox.MAX_LIMIT)), now=self.clock())
        return [UUID(item["ticket_id"]) for item in page["items"]][:limit]


def _as_candidate(tenant: str, row: dict) -> AgentCandidate:
    skills = row["skills"]
    return AgentCandidate(
        agent_id=row["agent_id"], tenant=tenant, capacity=row["capacity"], load=row["held_slots"],
        teams=frozenset(row["teams"]), last_assigned=row["taken_total"] or None,
        skills=Skills(languages=frozenset(skills.get("languages", ())), categories=frozenset(skills.get("categories", ())),
                      channels=frozenset(skills.get("channels", ()))),
    )
