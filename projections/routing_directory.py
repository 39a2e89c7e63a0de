"""What the routing policy looks up in the read models: a tenant's agents (agents read model) and
its tickets waiting for one (the inbox's unassigned view, in the inbox's order: SLA due first,
then priority, then age)."""
from __future__ import annotations

from uuid import UUID

from ledgerdesk.application.ports import Clock, system_clock
from ledgerdesk.domain.routing import AgentCandidate, Skills, TicketNeeds, exclusion

from .agents import queries as agents
from .inbox import queries as inbox
from .store import ReadStore

WAITING = ("new", "open", "pending")


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
        # Only the agents whose profile, as the read model has it, fits the ticket: each candidate
        # costs the router a load of its aggregate, where the choice is made on fresh state.
        return [row["agent_id"] for row in available if exclusion(needs, _as_candidate(tenant, row)) is None]

    def waiting_tickets(self, tenant: str, limit: int) -> list[UUID]:
        page = inbox.inbox(self.store, tenant, "unassigned", {"status": list(WAITING)},
                           limit=max(1, min(limit, inbox.MAX_LIMIT)), now=self.clock())
        return [UUID(item["ticket_id"]) for item in page["items"]][:limit]


def _as_candidate(tenant: str, row: dict) -> AgentCandidate:
    skills = row["skills"]
    return AgentCandidate(
        agent_id=row["agent_id"], tenant=tenant, capacity=row["capacity"], load=row["held_slots"],
        teams=frozenset(row["teams"]),
        skills=Skills(languages=frozenset(skills.get("languages", ())), categories=frozenset(skills.get("categories", ())),
                      channels=frozenset(skills.get("channels", ()))),
    )
