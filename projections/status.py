"""How each read model stands: its generation, position, the head, the lag, and its state.

States: `running` (caught up), `catching_up` (behind and moving), `stalled` (behind and not
moved for STALLED_AFTER: nothing is following the log, or a batch hangs), `failing` (its last
attempt failed for a reason that is no event's fault, e.g. the database). Parked events and the
tenants held behind them are shown beside the state: the other tenants go on meanwhile.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from . import parking
from .instants import iso, utc
from .projector import Projector
from .schema import projection_tracking

STALLED_AFTER = timedelta(seconds=60)


def _state(lag: int, moved_at: datetime | None, error_at: datetime | None, now: datetime) -> str:
    if error_at is not None and (moved_at is None or utc(error_at) >= utc(moved_at)):
        return "failing"
    if lag == 0:
        return "running"
    if moved_at is None or now - utc(moved_at) > STALLED_AFTER:
        return "stalled"
    return "catching_up"


def status(projector: Projector, tenant: str | None = None) -> list[dict[str, Any]]:
    """Each read model's state; `tenant`, when given, limits the parked events listed to that tenant's."""
    head = projector.head()
    now = utc(projector.clock())
    store = projector.store
    names = [m.name for m in projector.models]
    with store.reading() as conn:
        states = store.generations(conn, names)
        active = {name: state.active for name, state in states.items()}
        t = projection_tracking
        health = {
            (row.name, row.generation): row
            for row in conn.execute(
                select(t.c.name, t.c.generation, t.c.moved_at, t.c.last_error, t.c.last_error_at).where(t.c.name.in_(names))
            )
        }
        counts = parking.parked_counts(conn, active)
        held = {name: parking.held_tenants(conn, name, generation) for name, generation in active.items()}
        listed = parking.parked_events(conn, active, tenant=tenant, limit=20)
    answer = []
    for name in names:
        state = states.get(name)
        if state is None:
            continue
        lag = max(0, head - state.active_position)
        row = health.get((name, state.active))
        moved_at, error, error_at = (row.moved_at, row.last_error, row.last_error_at) if row else (None, None, None)
        entry: dict[str, Any] = {
            "name": name,
            "state": _state(lag, moved_at, error_at, now),
            "generation": state.active,
            "position": state.active_position,
            "head": head,
            "lag": lag,
            "moved_at": iso(moved_at),
            "last_error": {"message": error, "at": iso(error_at)} if error else None,
            "parked": {
                "events": counts.get(name, 0),
                "held_tenants": [{"tenant": t, "since": since} for t, since in sorted(held[name].items())],
                "listed": [p.as_dict() for p in listed if p.name == name],
            },
            "rebuilding": None,
        }
        if state.building is not None:
            entry["rebuilding"] = {"generation": state.building, "position": state.building_position or 0}
        answer.append(entry)
    return answer


def for_tenant(rows: list[dict[str, Any]], tenant: str) -> list[dict[str, Any]]:
    """Status as one tenant may see it: its own parked events, whether it is held, and no other
    tenant's names or data (an error message can quote a row)."""
    seen = []
    for row in rows:
        held = [h for h in row["parked"]["held_tenants"] if h["tenant"] == tenant]
        error = row["last_error"]
        seen.append({
            **row,
            "last_error": {"at": error["at"], "kind": error["message"].partition(":")[0]} if error else None,
            "parked": {
                "events": row["parked"]["events"],
                "held_since": held[0]["since"] if held else None,
                "yours": [p for p in row["parked"]["listed"] if p["tenant"] == tenant],
            },
        })
    return seen
