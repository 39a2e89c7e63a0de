"""Queries of the SLA the inbox read model keeps: a ticket's clocks at `now`, a tenant's policies.

Clocks are judged at `now`, the caller's clock (`MetricClock.view`): the read model itself
depends on the events alone.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from ledgerdesk.domain.sla import TicketSla
from ledgerdesk.domain.sla_policy import DEFAULT_ESCALATION, DEFAULT_POLICY, targets_in_minutes_and_seconds

from ..inbox.projection import NAME
from ..instants import utc
from ..store import ReadStore
from .tables import sla_policies as policies_table
from .tables import sla_tickets


def ticket_sla(store: ReadStore, tenant: str, ticket_id: str, now: datetime) -> dict[str, Any] | None:
    """`{"ticket_id", "policy": {"id", "version", "name"} | None, "clocks": [...]}`; None when the
    read model knows no such ticket of this tenant (merged-away tickets included).

    The policy's name is its current one; id and version are those the ticket is measured under.
    """
    now = utc(now)
    t, p = sla_tickets, policies_table
    with store.reading() as conn:
        generation = store.active_generation(conn, NAME)
        row = conn.execute(
            select(t.c.tenant, t.c.policy_id, t.c.policy_version, t.c.state).where(
                t.c.generation == generation, t.c.ticket_id == str(ticket_id)
            )
        ).first()
        if row is None or row.tenant != tenant:
            return None
        name = DEFAULT_POLICY.name if row.policy_id == DEFAULT_POLICY.policy_id else None
        if row.policy_id is not None and name is None:
            name = conn.execute(
                select(p.c.name).where(p.c.generation == generation, p.c.policy_id == row.policy_id)
            ).scalar()
    sla = TicketSla.from_dict(row.state)
    policy = None if row.policy_id is None else {"id": row.policy_id, "version": row.policy_version, "name": name}
    return {"ticket_id": str(ticket_id), "policy": policy, "clocks": sla.views(now)}


def policy_view(row: Any) -> dict[str, Any]:
    """A policy as GET /v1/sla-policies/{id} shows it (targets in minutes and in seconds)."""
    body = row["body"]
    return {
        "id": row["policy_id"],
        "version": row["version"],
        "name": row["name"],
        "rank": row["rank"],
        "match": body["match"],
        "targets": targets_in_minutes_and_seconds(body["targets"]),
        "warning_percent": body["warning_percent"],
        "calendar": body["calendar"],
        "escalation": body.get("escalation", DEFAULT_ESCALATION),
        "retired": row["retired"],
        "defined_at": utc(row["defined_at"]).isoformat(),
        "updated_at": utc(row["updated_at"]).isoformat(),
    }


def sla_policies(store: ReadStore, tenant: str) -> list[dict[str, Any]]:
    """The tenant's active policies, in the order they are tried: rank, then age, then id."""
    p = policies_table
    with store.reading() as conn:
        generation = store.active_generation(conn, NAME)
        rows = conn.execute(
            select(p)
            .where(p.c.generation == generation, p.c.tenant == tenant, p.c.retired.is_(False))
            .order_by(p.c.rank, p.c.defined_at, p.c.policy_id)
        ).mappings().all()
    return [policy_view(row) for row in rows]


def policy_ids(store: ReadStore, tenant: str) -> list[str]:
    """Every SLA policy the tenant ever defined, retired ones included (as-of reads replay them from the log)."""
    p = policies_table
    with store.reading() as conn:
        generation = store.active_generation(conn, NAME)
        return list(conn.execute(
            select(p.c.policy_id).where(p.c.generation == generation, p.c.tenant == tenant).order_by(p.c.policy_id)
        ).scalars())
