"""Queries of the workload read model: a tenant's agents, a page at a time, and one agent's open tickets."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from ledgerdesk.domain.agent import Presence
from ledgerdesk.domain.errors import InvalidValue

from .. import cursors
from ..instants import iso
from ..store import ReadStore
from .projection import NAME
from .tables import agent_teams, agent_tickets, agents, teams

AGENTS = NAME
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_AGENT_ID = 128
# One agent's open tickets listed at most (its count is always whole): a capacity's worth.
MAX_OPEN_LISTED = 1000


def _counts(conn: Connection, generation: int, tenant: str, agent_ids: list[str]) -> dict[str, int]:
    if not agent_ids:
        return {}
    t = agent_tickets
    query = (
        select(t.c.agent_id, func.count())
        .where(t.c.generation == generation, t.c.tenant == tenant, t.c.agent_id.in_(agent_ids))
        .group_by(t.c.agent_id)
    )
    return {agent_id: count for agent_id, count in conn.execute(query)}


def _item(row: Any, open_count: int) -> dict[str, Any]:
    return {
        "agent_id": row.agent_id,
        "name": row.name,
        "teams": row.teams,
        "skills": row.skills,
        "capacity": row.capacity,
        "presence": row.presence,
        "presence_since": iso(row.presence_since),
        "open_ticket_count": open_count,
        "held_slots": row.held_slots,
        "version": row.version,
        "registered_at": iso(row.registered_at),
        "updated_at": iso(row.updated_at),
    }


def agents_in(
    conn: Connection, generation: int, tenant: str, team: str | None = None, presence: str | None = None,
    cursor: str | None = None, limit: int = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Up to `limit` agents of the tenant by agent id, of one team and presence if given;
    `next_cursor` continues the list, None on its last page."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidValue(f"limit is 1 to {MAX_LIMIT}", field="limit")
    if presence is not None and presence not in {p.value for p in Presence}:
        raise InvalidValue(f"presence is one of {', '.join(p.value for p in Presence)}", field="presence")
    a = agents
    query = select(a).where(a.c.generation == generation, a.c.tenant == tenant)
    if team is not None:
        members = agent_teams
        query = query.where(
            a.c.agent_id.in_(
                select(members.c.agent_id).where(
                    members.c.generation == generation, members.c.tenant == tenant, members.c.team == team
                )
            )
        )
    if presence is not None:
        query = query.where(a.c.presence == presence)
    if cursor is not None:
        (after,) = cursors.decode(cursor, [str], max_text=MAX_AGENT_ID)
        query = query.where(a.c.agent_id > after)
    rows = conn.execute(query.order_by(a.c.agent_id).limit(limit + 1)).all()
    page = rows[:limit]
    counts = _counts(conn, generation, tenant, [row.agent_id for row in page])
    items = [_item(row, counts.get(row.agent_id, 0)) for row in page]
    return {"items": items, "next_cursor": cursors.encode([page[-1].agent_id]) if len(rows) > limit else None}


def agents_list(
    store: ReadStore, tenant: str, team: str | None = None, presence: str | None = None, cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> dict[str, Any]:
    with store.reading() as conn:
        generation = store.active_generation(conn, AGENTS)
        return agents_in(conn, generation, tenant, team, presence, cursor, limit)


def open_tickets_in(conn: Connection, generation: int, tenant: str, agent_id: str, limit: int = MAX_OPEN_LISTED) -> dict[str, Any]:
    """The tickets assigned to the agent and not solved or closed, longest open first, and how many."""
    t = agent_tickets
    where = (t.c.generation == generation, t.c.tenant == tenant, t.c.agent_id == agent_id)
    count = conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one()
    rows = conn.execute(select(t.c.ticket_id, t.c.since).where(*where).order_by(t.c.since, t.c.ticket_id).limit(limit)).all()
    return {"open_ticket_count": count, "open_tickets": [{"ticket_id": r.ticket_id, "since": iso(r.since)} for r in rows]}


def open_tickets(store: ReadStore, tenant: str, agent_id: str, limit: int = MAX_OPEN_LISTED) -> dict[str, Any]:
    with store.reading() as conn:
        generation = store.active_generation(conn, AGENTS)
        return open_tickets_in(conn, generation, tenant, agent_id, limit)


def available_agents(store: ReadStore, tenant: str, limit: int = 5000) -> list[dict[str, Any]]:
    """The tenant's online agents with a slot free, as routing weighs them: id, teams, skills,
    capacity and slots held; one statement, no paging (routing asks on every trigger)."""
    a = agents
    with store.reading() as conn:
        generation = store.active_generation(conn, NAME)
        rows = conn.execute(
            select(a.c.agent_id, a.c.teams, a.c.skills, a.c.capacity, a.c.held_slots, a.c.taken_total)
            .where(a.c.generation == generation, a.c.tenant == tenant, a.c.presence == Presence.ONLINE.value,
                   a.c.held_slots < a.c.capacity)
            .order_by(a.c.agent_id).limit(limit)
        ).mappings().all()
    return [dict(row) for row in rows]


def teams_list(store: ReadStore, tenant: str) -> list[dict[str, Any]]:
    """The tenant's teams, defined or with members, by id: name, escalation team, members."""
    with store.reading() as conn:
        generation = store.active_generation(conn, NAME)
        defined = {row.team: row for row in conn.execute(
            select(teams).where(teams.c.generation == generation, teams.c.tenant == tenant))}
        members: dict[str, list[str]] = {}
        for team, agent_id in conn.execute(
            select(agent_teams.c.team, agent_teams.c.agent_id)
            .where(agent_teams.c.generation == generation, agent_teams.c.tenant == tenant)
            .order_by(agent_teams.c.team, agent_teams.c.agent_id)
        ):
            members.setdefault(team, []).append(agent_id)
    return [
        {"team_id": team, "name": defined[team].name if team in defined else None,
         "escalation_team": defined[team].escalation_team if team in defined else None,
         "defined": team in defined, "members": members.get(team, [])}
        for team in sorted(set(defined) | set(members))
    ]
