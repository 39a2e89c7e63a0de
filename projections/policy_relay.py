"""The relay of policy triggers to a message broker: a follower of the log like the projector.

With a broker configured, policies run in worker processes (interfaces/policy_worker.py), and
events reach them through the log, never through "save, then publish": this relay reads the
log from its own tracked position (`relay:policies`, listed by `projections status`), and for
each event a configured policy reacts to, hands (policy, trigger) to `send`. It moves its
position only once every send up to there has returned, and `send` returns only once the broker
has the message (RabbitMQ's publisher confirm; Redis's answer to the command). A crash or a
broker outage in between hands the same triggers over again: the policy's commands, whose ids
derive from (policy, trigger), then replay instead of appending twice.

A send that fails (the broker away) stops the batch there, keeping what was sent before it;
the follower tries again after a pause that grows (projections/follower.py). Nothing is parked:
no trigger is at fault for a broker outage.

It knows nothing of dramatiq: `send` is the port the interfaces layer fills.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ledgerdesk.application.event_views import event_type
from ledgerdesk.application.policy import Policy, Trigger, of_its_own_doing
from ledgerdesk.application.ports import Clock, system_clock

from .event_record import EventRecord
from .policy_consumer import trigger_of
from .projector import Target
from .store import ReadStore

RELAY_NAME = "relay:policies"
DEFAULT_RELAY_BATCH_SIZE = 100

Send = Callable[[str, Trigger], None]


@dataclass(frozen=True)
class RelayConsumer:
    """What the follower and `projections status` see of the relay: a name with a position."""

    name: str
    event_types: frozenset[str]


class PolicyRelay:
    def __init__(self, store: ReadStore, log, policies: Sequence[Policy], send: Send,  # type: ignore[no-untyped-def]
                 batch_size: int = DEFAULT_RELAY_BATCH_SIZE, clock: Clock = system_clock, name: str = RELAY_NAME) -> None:
        self.store = store
        self.log = log
        self.policies = list(policies)
        self.send = send
        self.batch_size = batch_size
        self.clock = clock
        self.consumer = RelayConsumer(name, frozenset().union(*(p.event_types for p in self.policies)))
        self.models = [self.consumer]
        store.register([name])

    def head(self) -> int:
        return self.log.max_notification_id() or 0

    def catch_up(self, targets: Sequence[Target] | None = None,
                 on_error: Callable[[Target, Exception], None] | None = None) -> int:
        """Relays up to the head of the log; answers how many log positions it moved."""
        try:
            return self._follow()
        except Exception as error:
            if on_error is None:
                raise
            on_error(Target(self.consumer), error)  # type: ignore[arg-type]
            return 0

    def _follow(self) -> int:
        moved = 0
        while True:
            with self.store.reading() as conn:
                generation, start, _held = self.store.position(conn, self.consumer.name)
            batch = self.log.select_notifications(start=start, limit=self.batch_size, inclusive_of_start=False)
            if not batch:
                return moved
            done, failure = start, None
            for notification in batch:
                try:
                    self._relay(notification)
                except Exception as error:
                    failure = error
                    break
                done = notification.id
            self._record(generation, start, done)
            moved += done - start
            if failure is not None:
                raise failure
            if len(batch) < self.batch_size:
                return moved

    def _relay(self, notification) -> None:  # type: ignore[no-untyped-def]
        kind = event_type(notification.topic)
        wanting = [p for p in self.policies if kind in p.event_types]
        if not wanting:
            return
        trigger = trigger_of(EventRecord.from_notification(notification))
        for policy in wanting:
            if not of_its_own_doing(policy, trigger):
                self.send(policy.name, trigger)

    def _record(self, generation: int, start: int, done: int) -> None:
        if done == start:
            return
        with self.store.writing() as conn:
            _generation, position, _held = self.store.position(conn, self.consumer.name, generation, lock=True)
            if position != start:
                return  # another relay moved it meanwhile: its bookkeeping stands (what both sent replays)
            self.store.set_position(conn, self.consumer.name, generation, done, moved_at=self.clock())
