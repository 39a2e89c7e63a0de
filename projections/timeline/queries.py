"""Queries of the customer timeline read model: a customer's timeline, and who owns an identity.

Merges are resolved here, at read time: a customer's merges are followed to the root survivor,
and the timeline gathers the entries of the survivor and of everyone merged into it,
transitively, in (occurred_at, position) order. Pages are cut by an opaque keyset cursor over
that order, so entries appended between pages neither repeat nor shift what comes next.

Each function reads one snapshot: the `*_in` ones take a Connection and the generation, the
others a ReadStore and read its active generation. Another tenant's customer is not found.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import Connection, and_, or_, select

from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.customer import follow_merges
from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.domain.identity import Identity, IdentityKind

from .. import cursors
from ..cursors import Instant
from ..instants import utc
from ..store import ReadStore
from .projection import CustomerTimeline
from .tables import NO_CHANNEL, customer_identities, timeline_customers, timeline_entries

TIMELINE = CustomerTimeline.name
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


# -- cursors ------------------------------------------------------------------------------------


def encode_cursor(occurred_at: datetime, position: int) -> str:
    return cursors.encode([occurred_at, position])


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    occurred_at, position = cursors.decode(cursor, (Instant, int))
    return occurred_at, position


# -- customers and merges -------------------------------------------------------------------------


def _customer_row(conn: Connection, generation: int, customer_id: str) -> dict | None:
    c = timeline_customers
    found = conn.execute(select(c).where(c.c.generation == generation, c.c.customer_id == customer_id)).mappings().first()
    return dict(found) if found is not None else None


def root_customer_in(conn: Connection, generation: int, tenant: str, customer_id: str | UUID) -> dict | None:
    """The surviving customer at the end of `customer_id`'s merges, or None (unknown, or another tenant's)."""
    rows: dict[str, dict | None] = {}

    def row_of(cid: str) -> dict | None:
        if cid not in rows:
            rows[cid] = _customer_row(conn, generation, cid)
        return rows[cid]

    def merged_into(cid: str) -> str | None:
        row = row_of(cid)
        return row["merged_into"] if row is not None else None

    row = row_of(follow_merges(str(customer_id), merged_into))
    if row is None or row["tenant"] != tenant:
        return None
    return row


def merged_customer_ids_in(conn: Connection, generation: int, root_id: str) -> list[str]:
    """Everyone merged into `root_id`, directly or through customers merged into them."""
    c = timeline_customers
    found: set[str] = {root_id}
    frontier = [root_id]
    while frontier:
        children = conn.execute(
            select(c.c.customer_id).where(c.c.generation == generation, c.c.merged_into.in_(frontier))
        ).scalars().all()
        frontier = [child for child in children if child not in found]
        found.update(frontier)
    found.discard(root_id)
    return sorted(found)


def _profile(row: dict, merged: list[str]) -> dict[str, Any]:
    return {
        "customer_id": row["customer_id"],
        "display_name": row["display_name"],
        "tier": row["tier"],
        "registered_at": utc(row["registered_at"]).isoformat(),
        "merged_customer_ids": merged,
    }


# -- the timeline -----------------------------------------------------------------------------------


def _item(row: Any) -> dict[str, Any]:
    item = {
        "position": row.position,
        "occurred_at": utc(row.occurred_at).isoformat(),
        "kind": row.kind,
        "customer_id": row.customer_id,
        "channel": row.channel,
        "ticket_id": row.ticket_id,
        "conversation_id": row.conversation_id,
        "message_id": row.message_id,
        "actor": {"kind": row.actor_kind, "id": row.actor_id},
        "text": row.text,
    }
    item.update(orjson.loads(row.detail))
    return item


def timeline_entries_in(
    conn: Connection, generation: int, customer_ids: Iterable[str], after: tuple[datetime, int] | None, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` entries of these customers after the (occurred_at, position) `after`, in that order."""
    e = timeline_entries
    query = select(e).where(e.c.generation == generation, e.c.customer_id.in_(list(customer_ids)))
    if after is not None:
        at, position = after
        query = query.where(or_(e.c.occurred_at > at, and_(e.c.occurred_at == at, e.c.position > position)))
    rows = conn.execute(query.order_by(e.c.occurred_at, e.c.position).limit(limit)).all()
    return [_item(row) for row in rows]


def customer_timeline_in(
    conn: Connection, generation: int, tenant: str, customer_id: str | UUID, after_cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> dict[str, Any] | None:
    root = root_customer_in(conn, generation, tenant, customer_id)
    if root is None:  # unknown before anything else is checked
        return None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidValue(f"limit is 1 to {MAX_LIMIT}", field="limit")
    after = decode_cursor(after_cursor) if after_cursor else None
    merged = merged_customer_ids_in(conn, generation, root["customer_id"])
    items = timeline_entries_in(conn, generation, [root["customer_id"], *merged], after, limit + 1)
    more = len(items) > limit
    items = items[:limit]
    next_cursor = None
    if more:
        last = items[-1]
        next_cursor = encode_cursor(datetime.fromisoformat(last["occurred_at"]), last["position"])
    return {"customer_id": root["customer_id"], "merged_customer_ids": merged, "items": items, "next_cursor": next_cursor}


def customer_timeline(
    store: ReadStore, tenant: str, customer_id: str | UUID, after_cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> dict[str, Any] | None:
    """The timeline of the customer `customer_id` became (itself, or the survivor of its merges);
    None when the tenant has no such customer."""
    with store.reading() as conn:
        generation = store.active_generation(conn, TIMELINE)
        return customer_timeline_in(conn, generation, tenant, customer_id, after_cursor, limit)


# -- lookup by identity ------------------------------------------------------------------------------


def identity_of(
    kind: IdentityKind | str, value: str, channel: Channel | str | None = None, *, default_phone_region: str | None = None
) -> Identity:
    """The identity as the domain normalises it (lower-cased email, E.164 phone, trimmed channel user)."""
    try:
        kind = IdentityKind(kind)
    except ValueError:
        raise InvalidValue(f"an identity kind is one of {', '.join(IdentityKind)}", field="kind") from None
    if kind is IdentityKind.EMAIL:
        return Identity.email(value)
    if kind is IdentityKind.PHONE:
        return Identity.phone(value, default_region=default_phone_region)
    if not channel:
        raise InvalidValue("a channel user is looked up with its channel", field="channel")
    try:
        channel = Channel(channel)
    except ValueError:
        raise InvalidValue(f"no channel {channel!r}", field="channel") from None
    return Identity.channel_user(channel, value)


def find_customer_in(conn: Connection, generation: int, tenant: str, identity: Identity) -> dict[str, Any] | None:
    i = customer_identities
    owner = conn.execute(
        select(i.c.customer_id).where(
            i.c.generation == generation,
            i.c.tenant == tenant,
            i.c.kind == str(identity.kind),
            i.c.channel == (str(identity.channel) if identity.channel else NO_CHANNEL),
            i.c.value == identity.value,
        )
    ).scalar()
    if owner is None:
        return None
    root = root_customer_in(conn, generation, tenant, owner)
    if root is None:
        return None
    return _profile(root, merged_customer_ids_in(conn, generation, root["customer_id"]))


def find_customer(
    store: ReadStore,
    tenant: str,
    kind: IdentityKind | str,
    value: str,
    channel: Channel | str | None = None,
    *,
    default_phone_region: str | None = None,
) -> dict[str, Any] | None:
    """The root survivor owning this identity in this tenant, with its profile; None if nobody does.

    The value is normalised first, so "+86 138 0013 8000", "13800138000" (region CN) and
    "+8613800138000" find the same customer. Raises InvalidValue for a value the domain refuses.
    """
    identity = identity_of(kind, value, channel, default_phone_region=default_phone_region)
    with store.reading() as conn:
        generation = store.active_generation(conn, TIMELINE)
        return find_customer_in(conn, generation, tenant, identity)
