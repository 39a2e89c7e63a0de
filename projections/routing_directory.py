"""What the routing policy looks up in the read models: a tenant's agents (agents read model) and
its tickets waiting for one (the inbox's unassigned view, in the inbox's order: SLA due first,
then priority, then age)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ledgerdesk.application.ports import Clock, system_clock
from ledgerdesk.domain.routing import AgentCandidate, Skills, TicketNeeds, choice_key, exclusion

from .agents import queries as agents
from .inbox import queries as inbox
from .store import ReadStore
from .tracking import wait_until_applied

WAITING = ("new", "open", "pending")
# How long a routing decision waits for the read models to reach its trigger.
CATCH_UP_SECONDS = 3.0
# How deep into the queue an agent freeing a slot looks for tickets it can take.
WAITING_SCANNED = 500
# The most agents a routing decision weighs on their aggregates' state (a load each). Up to this
# many qualified agents the turn is exact; beyond, a burst routed before the read model sees its
# own assignments may give the same agents a second ticket before the others get a first.
CANDIDATES = 64


class ReadModelRoutingDirectory:
    def __init__(self, store: ReadStore, clock: Clock = system_clock) -> None:
        self.store = store
        self.clock = clock

    def agent_ids(self, tenant: str, needs: TicketNeeds) -> list[str]:
        available = agents.available_agents(self.store, tenant)
        # Each candidate costs the router a load of its aggregate, where the choice is made on
        # fresh state: only the agents whose profile fits the ticket, and of those the first
        # `CANDIDATES` in the router's own order (least filled, then next in turn) as the read
        # model sees them. A lag in it shifts the turn a little, never past a capacity.
        fitting = [_as_candidate(tenant, row) for row in available]
        fitting = [agent for agent in fitting if exclusion(needs, agent) is None]
        return [agent.agent_id for agent in sorted(fitting, key=choice_key)[:CANDIDATES]]

    def waiting_tickets(self, tenant: str, limit: int, fits: Callable[[TicketNeeds], bool] | None = None) -> list[TicketNeeds]:
        found: list[TicketNeeds] = []
        cursor, scanned = None, 0
        while len(found) < limit and scanned < WAITING_SCANNED:
            page = inbox.inbox(self.store, tenant, "unassigned", {"status": list(WAITING)}, cursor=cursor,
                               limit=min(inbox.MAX_LIMIT, WAITING_SCANNED), now=self.clock())
            for item in page["items"]:
                needs = _needs(tenant, item)
                if fits is None or fits(needs):
                    found.append(needs)
            scanned += len(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        return found[:limit]

    def caught_up_to(self, position: int | None) -> None:
        if position is not None:  # past the wait it decides on what it has: a late agent's own event routes the waiting
            wait_until_applied(self.store, (agents.AGENTS, inbox.NAME), position, CATCH_UP_SECONDS)

    def agent_candidates(self, tenant: str) -> list[AgentCandidate]:
        rows = agents.agents_list(self.store, tenant, limit=agents.MAX_LIMIT)["items"]
        return [_as_candidate(tenant, row, presence=row["presence"]) for row in rows]


def _needs(tenant: str, item: dict) -> TicketNeeds:
    return TicketNeeds(ticket_id=item["ticket_id"], tenant=tenant, channel=item["channel"], priority=item["priority"],
                       opened_at=datetime.fromisoformat(item["opened_at"]), language=item["language"],
                       category=item["category"], team=item["team"])


def _as_candidate(tenant: str, row: dict, presence: str = "online") -> AgentCandidate:
    skills = row["skills"]
    return AgentCandidate(presence=presence,
        agent_id=row["agent_id"], tenant=tenant, capacity=row["capacity"], load=row["held_slots"],
        teams=frozenset(row["teams"]), last_assigned=row.get("taken_total") or None,
        skills=Skills(languages=frozenset(skills.get("languages", ())), categories=frozenset(skills.get("categories", ())),
                      channels=frozenset(skills.get("channels", ()))),
    )
