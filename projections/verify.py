"""Checking that a read model is what its log says: rebuild it beside, compare, discard.

A fresh generation is built from position zero up to the active generation's position, then,
holding the read model's lock so the live projector cannot move it on, both generations are
read in primary-key order and compared row by row (streamed: memory does not grow with the
table). The fresh generation is dropped afterwards; the live one is never touched.

Equal rows are not enough to call a read model sound: one that stands behind the log (nothing
is moving it, or it keeps failing) or that has parked events is reported as such, never as
"equal to a rebuild".
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

from sqlalchemy import Connection, Table, delete, select

from . import parking
from .projector import Projector, Target
from .read_model import ReadModel
from .rebuild import bring_to, start_generations
from .schema import projection_generations, projection_tracking

# How long the live read models get to reach the head the log had when the verification began.
SETTLE_SECONDS = 5.0


@dataclass
class Verification:
    name: str
    position: int
    head: int = 0  # the log's head when the verification began
    rows: dict[str, int] = field(default_factory=dict)  # rows compared, per table
    differences: list[str] = field(default_factory=list)  # the first few, described
    parked: int = 0  # events the live read model has parked
    held_tenants: list[str] = field(default_factory=list)

    @property
    def behind(self) -> bool:
        return self.position < self.head

    @property
    def equal(self) -> bool:
        """Equal to a rebuild, caught up with the log, and nothing parked."""
        return not self.differences and not self.behind and not self.parked

    @property
    def verdict(self) -> str:
        problems = []
        if self.differences:
            problems.append("DIFFERS from a rebuild")
        if self.parked:
            problems.append(f"HAS {self.parked} PARKED EVENT{'S' if self.parked > 1 else ''} "
                            f"(tenants held: {', '.join(self.held_tenants) or 'none'}; see `projections parked`)")
        if self.behind:
            problems.append(f"BEHIND the log (head {self.head}): is a projector running? (`projections status`)")
        return "; ".join(problems) or "equal to a rebuild"


def _rows(conn: Connection, table: Table, generation: int) -> Iterator[tuple[Any, ...]]:
    columns = [c for c in table.columns if c.name != "generation"]
    keys = [c for c in table.primary_key.columns if c.name != "generation"]
    query = select(*columns).where(table.c.generation == generation).order_by(*keys)
    yield from conn.execution_options(yield_per=2000).execute(query)


def compare_rows(model: ReadModel, one: tuple[Connection, int], other: tuple[Connection, int], found: Verification,
                 names: tuple[str, str] = ("live", "rebuilt"), limit: int = 5) -> None:
    """Compares one generation of the model's tables with another, row by row in key order (the two
    may be in different databases of the same kind: a replay and a rebuild, say)."""
    for table in model.tables:
        count = 0
        for a, b in zip_longest(_rows(one[0], table, one[1]), _rows(other[0], table, other[1])):
            count += 1
            if tuple(a or ()) != tuple(b or ()) and len(found.differences) < limit:
                found.differences.append(f"{table.name}: {names[0]} {tuple(a) if a else None} != {names[1]} {tuple(b) if b else None}")
        found.rows[table.name] = count


def _compare(conn: Connection, model: ReadModel, live: int, fresh: int, found: Verification, limit: int = 5) -> None:
    compare_rows(model, (conn, live), (conn, fresh), found, limit=limit)


def _settle(projector: Projector, models: Sequence[ReadModel], head: int, seconds: float) -> None:
    """Gives a live projector a moment to reach `head` (a burst may have just arrived)."""
    deadline = time.monotonic() + seconds
    store = projector.store
    while time.monotonic() < deadline:
        with store.reading() as conn:
            states = store.generations(conn, [m.name for m in models])
        if all(s.active_position >= head for s in states.values()):
            return
        time.sleep(0.1)


def verify(projector: Projector, models: Sequence[ReadModel], progress: Callable[[int, int], None] | None = None,
           settle_seconds: float = SETTLE_SECONDS) -> list[Verification]:
    store = projector.store
    head = projector.head()
    fresh = start_generations(projector, models)
    try:
        _settle(projector, models, head, settle_seconds)
        with store.reading() as conn:
            live_positions = [s.active_position for s in store.generations(conn, [m.name for m in models]).values()]
        # Up to where the live generations stand, not the head: they may lag it (nothing following).
        projector.catch_up([Target(m, fresh[m.name]) for m in models], until=min(live_positions), progress=progress)
        results = []
        with store.writing() as conn:  # the read models' locks: the live generation stands still
            states = store.generations(conn, [m.name for m in models], lock=True)
            parked = parking.parked_counts(conn, {m.name: states[m.name].active for m in models})
            for model in models:
                state = states[model.name]
                bring_to(projector, conn, model, fresh[model.name], state.building_position or 0, state.active_position)
                found = Verification(model.name, state.active_position, head, parked=parked.get(model.name, 0),
                                     held_tenants=sorted(parking.held_tenants(conn, model.name, state.active)))
                _compare(conn, model, state.active, fresh[model.name], found)
                results.append(found)
        return results
    finally:
        with store.writing() as conn:
            for model in models:
                for table in model.tables:
                    conn.execute(delete(table).where(table.c.generation == fresh[model.name]))
                t, g = projection_tracking, projection_generations
                conn.execute(delete(t).where(t.c.name == model.name, t.c.generation == fresh[model.name]))
                conn.execute(g.update().where(g.c.name == model.name).values(building_generation=None))
                parking.drop_generations(conn, model.name, only=fresh[model.name])
