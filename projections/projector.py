"""The projector: applies the event log to read models, one batch per transaction, exactly once.

Each transaction locks the read models' generation rows, reads their positions, applies the
events after them, and moves the positions on, all before it commits. A crash at any
instant leaves rows and positions in step; another projector on the same database waits for
the lock and then starts where this one stopped.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eventsourcing.persistence import ApplicationRecorder, Notification
from sqlalchemy import Connection

from ledgerdesk.application.event_views import event_type

from .event_record import EventRecord
from .read_model import Batch, ReadModel
from .store import ReadStore

DEFAULT_BATCH_SIZE = 1000


@dataclass(frozen=True)
class Target:
    """A read model and the generation of it to write; None means its active generation."""

    model: ReadModel
    generation: int | None = None


class Projector:
    def __init__(self, store: ReadStore, log: ApplicationRecorder, models: Sequence[ReadModel], batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.store = store
        self.log = log
        self.models = list(models)
        self.batch_size = batch_size

    def head(self) -> int:
        return self.log.max_notification_id() or 0

    def _positions(self, conn: Connection, targets: Sequence[Target], lock: bool) -> list[tuple[ReadModel, int, int]]:
        states = self.store.generations(conn, [t.model.name for t in targets], lock=lock)
        resolved = []
        for target in targets:
            state = states[target.model.name]
            if target.generation is None or target.generation == state.active:
                resolved.append((target.model, state.active, state.active_position))
            elif target.generation == state.building:
                resolved.append((target.model, state.building, state.building_position or 0))
            else:
                raise LookupError(f"read model {target.model.name} has no generation {target.generation}")
        return resolved

    def apply_in(self, conn: Connection, notifications: Sequence[Notification], targets: Sequence[Target]) -> int:
        """Applies what each target has not seen yet of `notifications` (in log order), within `conn`."""
        if not notifications:
            return 0
        applied = 0
        records: dict[int, EventRecord] = {}
        last = notifications[-1].id
        for model, generation, position in self._positions(conn, targets, lock=True):
            if position >= last:
                continue
            batch = Batch(conn, generation)
            wanted = model.event_types
            relevant = []
            for notification in notifications:
                if notification.id <= position or event_type(notification.topic) not in wanted:
                    continue
                record = records.get(notification.id)
                if record is None:
                    record = records[notification.id] = EventRecord.from_notification(notification)
                relevant.append(record)
            model.prefetch(batch, relevant)
            for record in relevant:
                model.apply(batch, record)
            batch.flush()
            self.store.set_position(conn, model.name, generation, last)
            # Counted once per log event, however many read models took it.
            applied = max(applied, sum(1 for n in notifications if n.id > position))
        return applied

    def apply(self, notifications: Sequence[Notification], targets: Sequence[Target] | None = None) -> int:
        targets = targets if targets is not None else [Target(m) for m in self.models]
        with self.store.writing() as conn:
            return self.apply_in(conn, notifications, targets)

    def lowest_position(self, targets: Sequence[Target]) -> int:
        with self.store.reading() as conn:
            return min(position for _, _, position in self._positions(conn, targets, lock=False))

    def catch_up(self, targets: Sequence[Target] | None = None, until: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> int:
        """Applies the log up to its head (or `until`); answers how many events were applied.

        `progress(position, events)` is called after each batch.
        """
        targets = targets if targets is not None else [Target(m) for m in self.models]
        if not targets:
            return 0
        total = 0
        position = self.lowest_position(targets)
        while until is None or position < until:
            notifications = self.log.select_notifications(
                start=position, limit=self.batch_size, stop=until, inclusive_of_start=False
            )
            if not notifications:
                break
            total += self.apply(notifications, targets)
            position = notifications[-1].id
            if progress is not None:
                progress(position, len(notifications))
        return total
