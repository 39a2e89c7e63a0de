"""Queries of the mail quarantine read model: a tenant's quarantined mail, newest first, a page at a time."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from ledgerdesk.domain.errors import InvalidValue

from ..instants import iso
from ..store import ReadStore
from .projection import HELD, RELEASED, MailQuarantine
from .tables import quarantined_mail

QUARANTINE = MailQuarantine.name
STATUSES = (HELD, RELEASED)
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def _item(row: Any) -> dict[str, Any]:
    released = None
    if row.status == RELEASED:
        released = {
            "at": iso(row.released_at),
            "customer_id": row.customer_id,
            "conversation_id": row.conversation_id,
            "ticket_id": row.ticket_id,
            "message_id": row.message_id,
        }
    return {
        "quarantine_id": row.quarantine_id,
        "tenant": row.tenant,
        "position": row.position,
        "status": row.status,
        "reason": row.reason,
        "field": row.field,
        "size": row.size,
        "sha256": row.sha256,
        "received_at": iso(row.received_at),
        "quarantined_at": iso(row.quarantined_at),
        "released": released,
    }


def quarantined_mail_in(
    conn: Connection, generation: int, tenant: str | None, status: str | None = None, before: int | None = None,
    limit: int = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Up to `limit` quarantined mails (of one tenant, or of all when `tenant` is None), newest first,
    quarantined before log position `before`; `next_before` continues the list, None on its last page."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidValue(f"limit is 1 to {MAX_LIMIT}", field="limit")
    if status is not None and status not in STATUSES:
        raise InvalidValue(f"status is one of {', '.join(STATUSES)}", field="status")
    q = quarantined_mail
    query = select(q).where(q.c.generation == generation)
    if tenant is not None:
        query = query.where(q.c.tenant == tenant)
    if status is not None:
        query = query.where(q.c.status == status)
    if before is not None:
        query = query.where(q.c.position < before)
    rows = conn.execute(query.order_by(q.c.position.desc()).limit(limit + 1)).all()
    items = [_item(row) for row in rows[:limit]]
    return {"items": items, "next_before": items[-1]["position"] if len(rows) > limit else None}


def quarantined_mail_list(
    store: ReadStore, tenant: str | None, status: str | None = None, before: int | None = None, limit: int = DEFAULT_LIMIT
) -> dict[str, Any]:
    with store.reading() as conn:
        generation = store.active_generation(conn, QUARANTINE)
        return quarantined_mail_in(conn, generation, tenant, status, before, limit)
