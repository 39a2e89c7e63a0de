"""The timeline read model as a case file's index (application/case_files/scope.CaseIndex):
the tickets that linked an order, a customer's family, and their tickets and conversations.

Answers are candidates: the read model may be a moment behind the log, and the case decides
membership on the streams themselves. Another tenant's rows are never answered.
"""
from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import orjson
from sqlalchemy import select

from ..store import ReadStore
from .projection import CustomerTimeline
from .queries import merged_customer_ids_in, root_customer_in
from .tables import timeline_customers, timeline_entries


def order_link_detail(order_id: str) -> str:
    """An order link's `detail` exactly as the projection writes it (sorted keys, compact)."""
    return orjson.dumps({"order_id": order_id}, option=orjson.OPT_SORT_KEYS).decode()


class TimelineCaseIndex:
    def __init__(self, store: ReadStore) -> None:
        self.store = store

    def tickets_linking_order(self, tenant: str, order_id: str) -> list[UUID]:
        e, c = timeline_entries, timeline_customers
        with self.store.reading() as conn:
            generation = self.store.active_generation(conn, CustomerTimeline.name)
            found = conn.execute(
                select(e.c.ticket_id).distinct()
                .join(c, (c.c.generation == e.c.generation) & (c.c.customer_id == e.c.customer_id))
                .where(e.c.generation == generation, e.c.kind == "order_linked", e.c.detail == order_link_detail(order_id),
                       c.c.tenant == tenant)
            ).scalars().all()
        return sorted(UUID(t) for t in found if t)

    def customer_family(self, tenant: str, customer_id: UUID) -> list[UUID] | None:
        with self.store.reading() as conn:
            generation = self.store.active_generation(conn, CustomerTimeline.name)
            root = root_customer_in(conn, generation, tenant, customer_id)
            if root is None:
                return None
            merged = merged_customer_ids_in(conn, generation, root["customer_id"])
        return [UUID(root["customer_id"]), *(UUID(m) for m in merged)]

    def customer_streams(self, tenant: str, customer_ids: Sequence[UUID]) -> tuple[list[UUID], list[UUID]]:
        e = timeline_entries
        with self.store.reading() as conn:
            generation = self.store.active_generation(conn, CustomerTimeline.name)
            rows = conn.execute(
                select(e.c.ticket_id, e.c.conversation_id).distinct()
                .where(e.c.generation == generation, e.c.customer_id.in_([str(c) for c in customer_ids]))
            ).all()
        tickets = sorted({UUID(r.ticket_id) for r in rows if r.ticket_id})
        conversations = sorted({UUID(r.conversation_id) for r in rows if r.conversation_id})
        return tickets, conversations
