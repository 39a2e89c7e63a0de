"""Parked events: what a read model could not apply, kept visible and retryable.

When applying an event raises (a bug in a read model, a value a database refuses), the
projector parks it: the event's position, type, tenant, the error and when. Its tenant is then
held in that read model: the tenant's later events wait, from the parked one on, so that a
retry (retry.py) applies them in log order and the tenant's rows come out exactly as a
rebuild's. Every read model's rows belong to one tenant each, so the other tenants, and every
other read model, go on. This is Marten's dead-lettered events and EventStoreDB's parked
messages, kept per tenant so that nothing is applied out of order.

Everything here works inside the caller's transaction, beside the rows it concerns.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select, update

from .instants import iso
from .schema import projection_held_tenants, projection_parked_events, projection_tracking

MAX_ERROR = 2000


def describe_error(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


@dataclass(frozen=True)
class ParkedEvent:
    name: str
    generation: int
    position: int
    tenant: str | None
    event_type: str
    aggregate_id: str
    error: str
    parked_at: datetime
    retries: int
    last_retry_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "read_model": self.name,
            "position": self.position,
            "tenant": self.tenant,
            "event_type": self.event_type,
            "aggregate_id": self.aggregate_id,
            "error": self.error,
            "parked_at": iso(self.parked_at),
            "retries": self.retries,
            "last_retry_at": iso(self.last_retry_at),
        }


def held_tenants(conn: Connection, name: str, generation: int) -> dict[str, int]:
    """The read model generation's held tenants, each with the position their events wait from."""
    h = projection_held_tenants
    rows = conn.execute(select(h.c.tenant, h.c.since).where(h.c.name == name, h.c.generation == generation))
    return {tenant: since for tenant, since in rows}


def park(
    conn: Connection, name: str, generation: int, position: int, tenant: str | None,
    event_type: str, aggregate_id: str, error: BaseException, at: datetime,
) -> None:
    """Records the event as parked (again, if a retry failed on it) and holds its tenant from it on."""
    p = projection_parked_events
    message = describe_error(error)
    key = (p.c.name == name, p.c.generation == generation, p.c.position == position)
    again = conn.execute(
        update(p).where(*key).values(error=message, retries=p.c.retries + 1, last_retry_at=at)
    ).rowcount
    if not again:
        conn.execute(p.insert().values(
            name=name, generation=generation, position=position, tenant=tenant, event_type=event_type,
            aggregate_id=aggregate_id, error=message, parked_at=at, retries=0, last_retry_at=None,
        ))
    if tenant is not None:
        hold(conn, name, generation, tenant, position)


def hold(conn: Connection, name: str, generation: int, tenant: str, since: int) -> None:
    """The tenant's events from `since` on wait; a hold already there keeps the earlier start."""
    h = projection_held_tenants
    key = (h.c.name == name, h.c.generation == generation, h.c.tenant == tenant)
    found = conn.execute(select(h.c.since).where(*key)).scalar()
    if found is None:
        conn.execute(h.insert().values(name=name, generation=generation, tenant=tenant, since=since))
        _count_held(conn, name, generation, +1)
    elif since < found:
        conn.execute(update(h).where(*key).values(since=since))


def move_hold(conn: Connection, name: str, generation: int, tenant: str, since: int) -> None:
    """A retry applied the tenant's events before `since`: they, and the parked ones among them, are done."""
    h, p = projection_held_tenants, projection_parked_events
    conn.execute(update(h).where(h.c.name == name, h.c.generation == generation, h.c.tenant == tenant).values(since=since))
    conn.execute(delete(p).where(p.c.name == name, p.c.generation == generation, p.c.tenant == tenant, p.c.position < since))


def release(conn: Connection, name: str, generation: int, tenant: str) -> None:
    """The tenant has caught up with its read model: nothing of it is parked or waits any more."""
    h, p = projection_held_tenants, projection_parked_events
    removed = conn.execute(
        delete(h).where(h.c.name == name, h.c.generation == generation, h.c.tenant == tenant)
    ).rowcount
    conn.execute(delete(p).where(p.c.name == name, p.c.generation == generation, p.c.tenant == tenant))
    if removed:
        _count_held(conn, name, generation, -removed)


def resolve(conn: Connection, name: str, generation: int, position: int) -> None:
    """One parked event of no known tenant applied after all."""
    p = projection_parked_events
    conn.execute(delete(p).where(p.c.name == name, p.c.generation == generation, p.c.position == position))


def drop_generations(conn: Connection, name: str, keep: int | None = None, only: int | None = None) -> None:
    """Forgets the parking of a read model's generations other than `keep` (or of `only` that one)."""
    for table in (projection_parked_events, projection_held_tenants):
        which = table.c.generation == only if only is not None else table.c.generation != keep
        conn.execute(delete(table).where(table.c.name == name, which))


def _count_held(conn: Connection, name: str, generation: int, delta: int) -> None:
    t = projection_tracking
    conn.execute(
        update(t).where(t.c.name == name, t.c.generation == generation).values(held_tenants=t.c.held_tenants + delta)
    )


def parked_events(
    conn: Connection, generations: dict[str, int], tenant: str | None = None, limit: int = 100
) -> list[ParkedEvent]:
    """Parked events of these read models' generations ({name: generation}), oldest first."""
    if not generations:
        return []
    p = projection_parked_events
    conditions = [((p.c.name == name) & (p.c.generation == generation)) for name, generation in generations.items()]
    query = select(p).where(or_(*conditions))
    if tenant is not None:
        query = query.where(p.c.tenant == tenant)
    rows = conn.execute(query.order_by(p.c.position, p.c.name).limit(limit)).mappings()
    return [ParkedEvent(**row) for row in rows]


def parked_counts(conn: Connection, generations: dict[str, int]) -> dict[str, int]:
    """How many events each read model's generation has parked."""
    if not generations:
        return {}
    p = projection_parked_events
    conditions = [((p.c.name == name) & (p.c.generation == generation)) for name, generation in generations.items()]
    rows = conn.execute(select(p.c.name, func.count()).where(or_(*conditions)).group_by(p.c.name))
    return {name: count for name, count in rows}

