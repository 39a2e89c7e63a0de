"""Rebuilding read models from position zero beside the live ones, then switching.

The new generation is filled while queries keep reading the active one. The switch happens
in one transaction holding the generations' row locks: the new generation is first brought
to the active one's position (no live projector can move it meanwhile), then made active, so
a live projector simply carries on with it. Only then are the old generation's rows deleted.
"""
from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection, delete, func, select

from . import parking
from .projector import Projector, Target
from .read_model import ReadModel
from .schema import other_generations, projection_generations, projection_tracking


# A rebuild's batches are larger than a follower's: each read model commits once per batch, and
# a rebuild has no reader waiting for its next commit. Memory stays flat (bench/: rebuild RSS).
REBUILD_BATCH_SIZE = 5000


@dataclass(frozen=True)
class RebuildReport:
    names: list[str]
    events: int
    seconds: float  # from the start to the switch: what the new read models took to build
    position: int
    cleanup_seconds: float = 0.0  # dropping the old generation's rows, after the switch
    parked: dict[str, int] = field(default_factory=dict)  # events each rebuilt read model parked

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _drop_generations(conn: Connection, model: ReadModel, keep: int) -> None:
    for table in model.tables:
        conn.execute(delete(table).where(other_generations(table, keep)))
    t = projection_tracking
    conn.execute(delete(t).where(t.c.name == model.name, t.c.generation != keep))
    parking.drop_generations(conn, model.name, keep=keep)


class RebuildInProgress(Exception):
    """Another rebuild (or verify) is filling a generation of this read model, or died doing so."""


def start_generations(projector: Projector, models: Sequence[ReadModel], restart: bool = False) -> dict[str, int]:
    """A new, empty generation for each model; `restart` takes over from an abandoned rebuild."""
    store = projector.store
    fresh: dict[str, int] = {}
    with store.writing() as conn:
        states = store.generations(conn, [m.name for m in models], lock=True)
        busy = [m.name for m in models if states[m.name].building is not None]
        if busy and not restart:
            raise RebuildInProgress(
                f"{', '.join(busy)}: a rebuild is filling a new generation (see `projections status`); "
                "if it died, start again with --restart"
            )
        for model in models:
            active = states[model.name].active
            _drop_generations(conn, model, keep=active)
            t = projection_tracking
            highest = conn.execute(select(func.max(t.c.generation)).where(t.c.name == model.name)).scalar() or active
            generation = max(highest, states[model.name].building or 0) + 1
            conn.execute(t.insert().values(name=model.name, generation=generation, position=0))
            g = projection_generations
            conn.execute(g.update().where(g.c.name == model.name).values(building_generation=generation))
            fresh[model.name] = generation
    return fresh


def bring_to(projector: Projector, conn: Connection, model: ReadModel, generation: int, start: int, until: int) -> None:
    """Applies the log from `start` to `until` to one generation, inside the caller's transaction."""
    while start < until:
        notifications = projector.log.select_notifications(
            start=start, limit=projector.batch_size, stop=until, inclusive_of_start=False
        )
        if not notifications:
            break
        projector.apply_in(conn, notifications, Target(model, generation))
        start = notifications[-1].id


def switch(projector: Projector, models: Sequence[ReadModel], fresh: dict[str, int]) -> None:
    """Makes the fresh generations active, once they have reached the active ones' positions."""
    store = projector.store
    with store.writing() as conn:
        states = store.generations(conn, [m.name for m in models], lock=True)
        behind = [
            (model, states[model.name].active_position)
            for model in models
            if (states[model.name].building_position or 0) < states[model.name].active_position
        ]
        for model, until in behind:
            bring_to(projector, conn, model, fresh[model.name], states[model.name].building_position or 0, until)
        g = projection_generations
        for model in models:
            conn.execute(
                g.update().where(g.c.name == model.name).values(active_generation=fresh[model.name], building_generation=None)
            )


def drop_old_generations(projector: Projector, models: Sequence[ReadModel], fresh: dict[str, int]) -> None:
    with projector.store.writing() as conn:
        for model in models:
            _drop_generations(conn, model, keep=fresh[model.name])


@contextmanager
def _older_objects_left_alone() -> Iterator[None]:
    """Keeps the garbage collector's full collections off the objects alive before the rebuild.

    A rebuild keeps a batch's records and rows alive across many young collections, so full
    collections come often, and each walked every object of the process (the application, its
    imports): about a tenth of a rebuild's time. Objects the rebuild makes are collected as usual.
    A process that froze its objects already (`tune_garbage_collector`) is left as it is.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def rebuild(
    projector: Projector,
    models: Sequence[ReadModel],
    progress: Callable[[int, int], None] | None = None,
    restart: bool = False,
) -> RebuildReport:
    """Rebuilds `models` together from position zero; `progress(position, events)` after each batch."""
    started = time.perf_counter()
    fresh = start_generations(projector, models, restart)
    targets = [Target(model, fresh[model.name]) for model in models]
    events = 0
    with _older_objects_left_alone():
        # Catch up to the head, then once more for what arrived meanwhile, before the switch.
        for _ in range(2):
            events += projector.catch_up(targets, progress=progress, batch_size=REBUILD_BATCH_SIZE)
    switch(projector, models, fresh)
    switched = time.perf_counter()
    drop_old_generations(projector, models, fresh)
    with projector.store.reading() as conn:
        position = min(s.active_position for s in projector.store.generations(conn, [m.name for m in models]).values())
        parked = parking.parked_counts(conn, fresh)
    return RebuildReport([m.name for m in models], events, switched - started, position, time.perf_counter() - switched, parked)
