"""The live runner of policies: like the projector, but no transaction is open while commands run.

A read model's batch is rows written in one transaction with its position. A policy's batch is
commands, each appended through the Ledger on its own; holding the position's transaction (on
SQLite, the read models' file lock) while they run would make every read model wait for them.
So the runner reads its position, runs the batch's triggers with no transaction open, and then,
in one short transaction, parks what failed and moves the position on, unless another runner
moved it meanwhile (then that one's bookkeeping stands; the commands both ran are the same
commands, which replay instead of appending twice).

A trigger whose policy raises is parked as a read model's event is (`projections parked` and
`retry` show and retry it), and the runner goes on; a failure that is no trigger's fault (the
database away, writers that kept conflicting) stops the batch before that trigger, to be tried
again later.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from ledgerdesk.application.event_views import event_type
from ledgerdesk.application.ports import Clock, system_clock

from . import parking
from .event_record import EventRecord
from .policy_consumer import PolicyConsumer
from .projector import Target, is_events_fault
from .store import ReadStore

DEFAULT_POLICY_BATCH_SIZE = 100


class PolicyRunner:
    def __init__(self, store: ReadStore, log, consumers: Sequence[PolicyConsumer],  # type: ignore[no-untyped-def]
                 batch_size: int = DEFAULT_POLICY_BATCH_SIZE, clock: Clock = system_clock) -> None:
        self.store = store
        self.log = log
        self.models = list(consumers)
        self.batch_size = batch_size
        self.clock = clock

    def head(self) -> int:
        return self.log.max_notification_id() or 0

    def catch_up(self, targets: Sequence[Target] | None = None,
                 on_error: Callable[[Target, Exception], None] | None = None) -> int:
        """Runs each policy up to the head of the log; answers how many log positions the furthest moved."""
        moved = 0
        for target in targets if targets is not None else [Target(m) for m in self.models]:
            try:
                moved = max(moved, self._follow(target.model))  # type: ignore[arg-type]
            except Exception as error:
                if on_error is None:
                    raise
                on_error(target, error)
        return moved

    def _follow(self, consumer: PolicyConsumer) -> int:
        moved = 0
        while True:
            with self.store.reading() as conn:
                generation, start, _held = self.store.position(conn, consumer.name)
            batch = self.log.select_notifications(start=start, limit=self.batch_size, inclusive_of_start=False)
            if not batch:
                return moved
            parked: list[tuple] = []
            done, stop = start, None
            for notification in batch:
                if event_type(notification.topic) in consumer.event_types:
                    record = None
                    try:
                        record = EventRecord.from_notification(notification)
                        consumer.handle(record)
                    except Exception as error:
                        if not is_events_fault(error):
                            stop = error
                            break
                        parked.append((notification, record, error))
                done = notification.id
            self._record(consumer.name, generation, start, done, parked)
            moved += done - start
            if stop is not None:
                raise stop
            if len(batch) < self.batch_size:
                return moved

    def _record(self, name: str, generation: int, start: int, done: int, parked: list[tuple]) -> None:
        if done == start and not parked:
            return
        now = self.clock()
        with self.store.writing() as conn:
            _generation, position, _held = self.store.position(conn, name, generation, lock=True)
            if position != start:
                return  # another runner moved it: its bookkeeping stands
            for notification, record, error in parked:
                parking.park(conn, name, generation, notification.id, record.tenant if record else None,
                             event_type(notification.topic), str(notification.originator_id), error, now)
            self.store.set_position(conn, name, generation, done, moved_at=now)
