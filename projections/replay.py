"""Read models as they stood at a past position of the log, built into another database.

A replay is a rebuild stopped at a position: the same projector applies the log from zero up to
`until` into a fresh database's read models (generation 1), in a rebuild's large batches. Its rows
are those a rebuild stopped there would write. An instant is turned into the position just before
the first event stored after it (`position_at`).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson
from eventsourcing.persistence import ApplicationRecorder

from .projector import Projector, Target
from .read_model import ReadModel
from .rebuild import REBUILD_BATCH_SIZE, _older_objects_left_alone


class NotFresh(Exception):
    """The target database already holds read models that have applied some of the log."""


@dataclass(frozen=True)
class ReplayReport:
    names: list[str]
    position: int
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _stored_at(state: bytes) -> datetime:
    return datetime.fromisoformat(orjson.loads(state)["timestamp"]["_data_"])


def position_at(log: ApplicationRecorder, instant: datetime, batch_size: int = REBUILD_BATCH_SIZE) -> int:
    """The position just before the first event stored later than `instant`: the longest stretch of
    the log from its start whose events were all stored at or before it (0: the first one was later).

    A scan, not a binary search: event times follow log order only within one clock (commands racing
    within milliseconds, a seeder's invented times, another process's clock), and the longest prefix is
    what an aggregate's as-of read takes too. It reads no further than the replay will.
    """
    position = 0
    while True:
        batch = log.select_notifications(start=position, limit=batch_size, inclusive_of_start=False)
        for notification in batch:
            if _stored_at(notification.state) > instant:
                return position
            position = notification.id
        if len(batch) < batch_size:
            return position


def replay(projector: Projector, models: Sequence[ReadModel], until: int,
           progress: Callable[[int, int], None] | None = None) -> ReplayReport:
    """Applies the log up to `until` to the projector's store, which must be fresh (every model at 0)."""
    store = projector.store
    with store.reading() as conn:
        states = store.generations(conn, [m.name for m in models])
    started_already = {name: s.active_position for name, s in states.items() if s.active_position or s.building is not None}
    if started_already:
        raise NotFresh("the target already holds read models that have applied the log ("
                       + ", ".join(f"{name} at {position}" for name, position in started_already.items())
                       + "): replay into a fresh database")
    started = time.perf_counter()
    with _older_objects_left_alone():
        events = projector.catch_up([Target(m) for m in models], until=until, progress=progress, batch_size=REBUILD_BATCH_SIZE)
    return ReplayReport([m.name for m in models], until, events, time.perf_counter() - started)
