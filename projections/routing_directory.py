"""What the routing policy looks up in the read models: a tenant's agents (agents read model) and
its tickets waiting for one (the inbox's unassigned view, in the inbox's order: SLA due first,
then priority, then age)."""
from __future__ import annotations

from uuid import UUID

from ledgerdesk.application.ports import Clock, system_clock

from .agents import queries as agents
from .inbox import queries as inbox
from .store import ReadStore

WAITING = ("new", "open", "pending")


class ReadModelRoutingDirectory:
    def __init__(self, store: ReadStore, clock: Clock = system_clock) -> None:
        self.store = store
        self.clock = clock

    def agent_ids(self, tenant: str, available_only: bool = True) -> list[str]:
        if not available_only:  # to say why none could take a ticket: a page of them is plenty
            return [item["agent_id"] for item in agents.agents_list(self.store, tenant, limit=agents.MAX_LIMIT)["items"]]
        found: list[str] = []
        cursor = None
        while True:
            page = agents.agents_list(self.store, tenant, presence="online", cursor=cursor, limit=agents.MAX_LIMIT)
            found.extend(item["agent_id"] for item in page["items"] if item["held_slots"] < item["capacity"])
            cursor = page["next_cursor"]
            if cursor is None:
                return found

    def waiting_tickets(self, tenant: str, limit: int) -> list[UUID]:
        page = inbox.inbox(self.store, tenant, "unassigned", {"status": list(WAITING)},
                           limit=max(1, min(limit, inbox.MAX_LIMIT)), now=self.clock())
        return [UUID(item["ticket_id"]) for item in page["items"]][:limit]
