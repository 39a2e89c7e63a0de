"""Agents offline with tickets in hand, as timers of the routing policy: once an agent has been
offline for the grace period, each ticket they still hold is reclaimed and routed again."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, select

from ledgerdesk.application.routing_policy import grace_trigger
from ledgerdesk.domain.agent import Presence

from ..instants import utc
from ..store import ReadStore
from .projection import NAME
from .tables import agent_tickets, agents


class OfflineGraceTimers:
    def __init__(self, store: ReadStore, grace: timedelta) -> None:
        self.store = store
        self.grace = grace

    def _holding(self, generation: int):  # type: ignore[no-untyped-def]
        a, t = agents, agent_tickets
        return and_(a.c.generation == generation, a.c.presence == Presence.OFFLINE.value,
                    t.c.generation == generation, t.c.tenant == a.c.tenant, t.c.agent_id == a.c.agent_id)

    def due(self, now: datetime, limit: int) -> list:
        return [trigger for _at, trigger in self.upcoming(None, now, limit)]

    def upcoming(self, after: datetime | None, until: datetime, limit: int) -> list:
        a, t = agents, agent_tickets
        with self.store.reading() as conn:
            generation = self.store.active_generation(conn, NAME)
            query = select(a.c.tenant, a.c.agent_id, a.c.presence_since, t.c.ticket_id).where(
                self._holding(generation), a.c.presence_since <= utc(until) - self.grace)
            if after is not None:
                query = query.where(a.c.presence_since > utc(after) - self.grace)
            rows = conn.execute(query.order_by(a.c.presence_since, t.c.ticket_id).limit(limit)).all()
        return [(utc(row.presence_since) + self.grace, grace_trigger(row.tenant, row.ticket_id, row.agent_id, utc(row.presence_since)))
                for row in rows]

    def next_at(self, now: datetime) -> datetime | None:
        a = agents
        with self.store.reading() as conn:
            generation = self.store.active_generation(conn, NAME)
            since = conn.execute(
                select(func.min(a.c.presence_since)).select_from(a.join(agent_tickets, self._holding(generation)))
                .where(a.c.presence_since > utc(now) - self.grace)
            ).scalar()
        return None if since is None else utc(since) + self.grace
