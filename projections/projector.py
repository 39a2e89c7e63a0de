"""The projector: applies the event log to read models, each in transactions of its own, exactly once.

For each read model, a batch is one transaction that locks that model's generation row, reads
its position, applies the events after it, and moves the position on before it commits. A
crash at any instant leaves rows and position in step; another projector on the same database
waits for the lock and then starts where this one stopped; and one read model's trouble holds
back no other, since none shares its transaction.

No event stops a read model for good. The batch is applied inside a savepoint; when applying
raises, the projector finds the event at fault (the one `apply` raised on, or, if the batch
failed while being read or written, each event in turn), parks it (parking.py: its tenant's
later events then wait for a retry) and applies the rest. Failures that are no event's fault
(the database unreachable, a lock timed out, a table missing) are not parked: they propagate,
and the follower tries again later.
"""
from __future__ import annotations

import sqlite3
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

import psycopg
from eventsourcing import persistence as es
from eventsourcing.persistence import ApplicationRecorder, Notification
from sqlalchemy import Connection
from sqlalchemy import exc as sa

from ledgerdesk.application.event_views import event_type
from ledgerdesk.application.policy import RetryLater
from ledgerdesk.application.ports import Clock, system_clock

from . import parking
from .event_record import EventRecord
from .read_model import Batch, ReadModel
from .store import ReadStore

DEFAULT_BATCH_SIZE = 1000
_position = attrgetter("id")

# Failures of the database or its connection: retried later, never blamed on an event.
_OUTAGES: tuple[type[BaseException], ...] = (
    sa.OperationalError, sa.InterfaceError, sa.TimeoutError, sa.DisconnectionError,
    psycopg.OperationalError, psycopg.InterfaceError, sqlite3.OperationalError,
    es.OperationalError, es.InterfaceError,
    RetryLater,  # a policy's command kept conflicting with other writers
)
# The schema is not what the code expects (a migration not run): no event's fault either.
_SCHEMA: tuple[type[BaseException], ...] = (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn)


def is_events_fault(error: BaseException) -> bool:
    """Whether applying one event failed because of that event (or the code that read it)."""
    cause = getattr(error, "orig", None)
    return not isinstance(error, _OUTAGES) and not isinstance(error, _SCHEMA) and not isinstance(cause, _SCHEMA)


@dataclass(frozen=True)
class Target:
    """A read model and the generation of it to write; None means its active generation."""

    model: ReadModel
    generation: int | None = None


class ApplyFailed(Exception):
    """A read model's `apply` raised on the event at `index` of the batch."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


class _Records:
    """One batch of the log as every read model takes it: each notification's event type worked
    out once, and its EventRecord made once, whichever read models take it. (Per read model,
    working out the types again cost a rebuild as much as a small read model's handlers.)"""

    def __init__(self, notifications: Sequence[Notification]) -> None:
        self.notifications = notifications
        self.types = [event_type(n.topic) for n in notifications]
        self.kinds = frozenset(self.types)
        self._made: dict[int, EventRecord | Exception] = {}

    def first_after(self, position: int) -> int:
        """The index of the first notification after `position` (the batch is in log order)."""
        return bisect_right(self.notifications, position, key=_position)

    def wanted(self, event_types: frozenset[str], after: int) -> list[Notification]:
        """The notifications after position `after` of the given event types, in log order."""
        if self.kinds.isdisjoint(event_types):
            return []
        start = self.first_after(after)
        return [n for n, kind in zip(self.notifications[start:], self.types[start:]) if kind in event_types]

    def of(self, notification: Notification) -> EventRecord:
        made = self._made.get(notification.id)
        if made is None:
            try:
                made = EventRecord.from_notification(notification)
            except Exception as error:  # noqa: BLE001 - an unreadable event is parked, not fatal
                made = error
            self._made[notification.id] = made
        if isinstance(made, Exception):
            raise made
        return made


@dataclass
class Pass:
    """One read model generation's work within one transaction."""

    conn: Connection
    model: ReadModel
    generation: int
    held: dict[str, int]  # tenant -> position its events wait from
    clock: Clock
    parked: dict[int, str] = field(default_factory=dict)  # position -> error, parked in this pass

    def is_held(self, record: EventRecord) -> bool:
        return record.tenant in self.held

    def park(self, notification: Notification, record: EventRecord | None, error: Exception) -> None:
        tenant = record.tenant if record is not None else None
        parking.park(
            self.conn, self.model.name, self.generation, notification.id, tenant, event_type(notification.topic),
            str(notification.originator_id), error, self.clock(),
        )
        if tenant is not None:
            self.held.setdefault(tenant, notification.id)
        self.parked[notification.id] = parking.describe_error(error)

    def apply(self, records: list[EventRecord], notifications: dict[int, Notification]) -> None:
        """Applies the records as one batch if it can, else parks the events at fault and applies the rest."""
        while records:
            try:
                with self.conn.begin_nested():
                    self.run(records)
                return
            except ApplyFailed as failed:
                if not is_events_fault(failed.error):
                    raise failed.error from None
                before, culprit, after = records[: failed.index], records[failed.index], records[failed.index + 1 :]
                self.apply(before, notifications)
                self.park(notifications[culprit.position], culprit, failed.error)
                records = [r for r in after if not self.is_held(r)]
            except Exception as error:
                if not is_events_fault(error):
                    raise
                # Reading or writing the batch failed: which event is at fault is not known.
                self._one_at_a_time(records, notifications)
                return

    def _one_at_a_time(self, records: list[EventRecord], notifications: dict[int, Notification]) -> None:
        for record in records:
            if self.is_held(record):
                continue
            try:
                with self.conn.begin_nested():
                    self.run([record])
            except Exception as error:
                cause = error.error if isinstance(error, ApplyFailed) else error
                if not is_events_fault(cause):
                    raise cause from None
                self.park(notifications[record.position], record, cause)

    def run(self, records: list[EventRecord]) -> None:
        batch = Batch(self.conn, self.generation)
        self.model.prefetch(batch, records)
        for index, record in enumerate(records):
            try:
                self.model.apply(batch, record)
            except Exception as error:
                raise ApplyFailed(index, error) from error
        batch.flush()


class Projector:
    def __init__(
        self,
        store: ReadStore,
        log: ApplicationRecorder,
        models: Sequence[ReadModel],
        batch_size: int = DEFAULT_BATCH_SIZE,
        clock: Clock = system_clock,
    ) -> None:
        self.store = store
        self.log = log
        self.models = list(models)
        self.batch_size = batch_size
        self.clock = clock

    def head(self) -> int:
        return self.log.max_notification_id() or 0

    def position(self, conn: Connection, target: Target, lock: bool) -> tuple[int, int, bool]:
        """The target's generation, its position, and whether any of its tenants are held."""
        generation, position, held = self.store.position(conn, target.model.name, target.generation, lock=lock)
        return generation, position, held > 0

    def apply_in(self, conn: Connection, notifications: Sequence[Notification], target: Target,
                 records: _Records | None = None, careful: bool = True) -> int:
        """Applies what the target has not seen yet of `notifications` (in log order), within `conn`,
        parking what it cannot apply; answers how many log positions it moved on.

        `careful=False` applies the batch without savepoints and lets a failure propagate: the
        caller then rolls the transaction back and applies it again, carefully.
        """
        if not notifications:
            return 0
        records = records or _Records(notifications)
        model = target.model
        generation, position, any_held = self.position(conn, target, lock=True)
        last = notifications[-1].id
        if position >= last:
            return 0
        held = parking.held_tenants(conn, model.name, generation) if any_held else {}
        work = Pass(conn, model, generation, held, self.clock)
        by_position: dict[int, Notification] = {}
        pending: list[EventRecord] = []
        for notification in records.wanted(model.event_types, position):
            by_position[notification.id] = notification
            try:
                record = records.of(notification)
            except Exception as error:  # noqa: BLE001 - unreadable: parked, of no known tenant
                work.park(notification, None, error)
                continue
            if not work.is_held(record):
                pending.append(record)
        if careful:
            work.apply(pending, by_position)
        else:
            work.run(pending)
        self.store.set_position(conn, model.name, generation, last, moved_at=self.clock())
        return len(notifications) - records.first_after(position)

    def apply(self, notifications: Sequence[Notification], targets: Sequence[Target] | None = None,
              on_error: Callable[[Target, Exception], None] | None = None) -> int:
        """Applies `notifications` to each target in a transaction of its own; answers how many log
        positions the furthest moved on. A target that fails (not an event's fault: those are
        parked) raises, or, with `on_error`, is reported there while the others go on."""
        targets = targets if targets is not None else [Target(m) for m in self.models]
        records = _Records(notifications)
        applied = 0
        for target in targets:
            try:
                applied = max(applied, self._apply_to(notifications, target, records))
            except Exception as error:
                if on_error is None:
                    raise
                on_error(target, error)
        return applied

    def _apply_to(self, notifications: Sequence[Notification], target: Target, records: _Records) -> int:
        if records.kinds.isdisjoint(target.model.event_types):
            # Nothing of the batch is for this model: one statement moves it on (the batch is all
            # the log holds from just before its first event to its last).
            if self.store.skip_to(target.model.name, target.generation, notifications[0].id - 1, notifications[-1].id,
                                  self.clock()):
                return len(notifications)
        # Most batches apply cleanly: first without savepoints (two round trips fewer on PostgreSQL);
        # only a batch with an event at fault is applied again, carefully, to park it.
        try:
            with self.store.writing() as conn:
                return self.apply_in(conn, notifications, target, records, careful=False)
        except Exception as error:
            cause = error.error if isinstance(error, ApplyFailed) else error
            if not is_events_fault(cause):
                raise cause from None
        with self.store.writing() as conn:
            return self.apply_in(conn, notifications, target, records, careful=True)

    def lowest_position(self, targets: Sequence[Target]) -> int:
        with self.store.reading() as conn:
            if all(t.generation is None for t in targets):  # a follower's every batch: one statement
                lowest = self.store.lowest_active_position(conn, [t.model.name for t in targets])
                if lowest is not None:
                    return lowest
            states = self.store.generations(conn, [target.model.name for target in targets])
        return min(
            states[t.model.name].position_of(t.generation if t.generation is not None else states[t.model.name].active)
            for t in targets
        )

    def catch_up(self, targets: Sequence[Target] | None = None, until: int | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 on_error: Callable[[Target, Exception], None] | None = None, batch_size: int | None = None) -> int:
        """Applies the log up to its head (or `until`); answers how many events were applied.

        `progress(position, events)` is called after each batch. With `on_error`, a target that
        fails is reported there and left out of the rest of this catch-up; the others go on.
        `batch_size` overrides the projector's (a rebuild reads in larger batches).
        """
        targets = list(targets if targets is not None else [Target(m) for m in self.models])
        if not targets:
            return 0
        failed: set[int] = set()

        def report(target: Target, error: Exception) -> None:
            failed.add(id(target))
            assert on_error is not None
            on_error(target, error)

        total = 0
        position = self.lowest_position(targets)
        while until is None or position < until:
            live = [t for t in targets if id(t) not in failed]
            if not live:
                break
            notifications = self.log.select_notifications(
                start=position, limit=batch_size or self.batch_size, stop=until, inclusive_of_start=False
            )
            if not notifications:
                break
            total += self.apply(notifications, live, on_error=report if on_error is not None else None)
            position = notifications[-1].id
            if progress is not None:
                progress(position, len(notifications))
        return total
