"""Durable timers: the sweep over the read models that fires the policies' timers.

Timers are rows of read models rebuilt from the log (an SLA clock's warning and due times, an
agent offline since a moment), so no timer is lost with a process, a message or a broker. Each
`TimerSource` says which timers are due now and when the next one is. The sweep sleeps until the
earliest (`interval` at most, or until woken by new events, which may set a sooner one), then
fires every due timer: `deliver(trigger)` runs its policy in this process (the embedded default)
or sends it to the workers. A timer fired again before its effect reached the read models is the
same command again (its id derives from the timer), which appends nothing twice.

With a broker, each timer due within the next interval is also sent ahead as a delayed message
(`schedule`), which the broker holds and a worker runs at the due time, whatever becomes of this
process: the fast path. The sweep, every interval and after new events, is then the safety net
for a message lost or a time moved (a moved time is a new delayed message; the old one finds
nothing to do).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from ledgerdesk.application.policy import Trigger
from ledgerdesk.application.ports import Clock, system_clock

from .parking import describe_error

log = logging.getLogger("ledgerdesk.policies")

SWEEP_INTERVAL_SECONDS = 30.0
# After new events, how long the sweep lets the read models take them in before it looks again;
# also the least time between two looks while events keep coming.
SETTLE_SECONDS = 0.5
SWEEP_LIMIT = 500
# After a sweep that fired timers, how soon it looks again (doubling while it keeps firing).
RECHECK_SECONDS = 1.0


class TimerSource(Protocol):
    def due(self, now: datetime, limit: int) -> list[Trigger]:
        """The timers due at `now` whose effect the read models do not show yet, oldest first."""
        ...

    def next_at(self, now: datetime) -> datetime | None:
        """When the next timer after `now` is due, as far as the read models know."""
        ...

    def upcoming(self, after: datetime | None, until: datetime, limit: int) -> list[tuple[datetime, Trigger]]:
        """The timers due after `after` (any time, None) up to `until`, each with its due time."""
        ...


class TimerSweep:
    name = "timers"
    models: list = []  # it follows no log position: nothing of it to rebuild or track

    def __init__(self, sources: Sequence[TimerSource], deliver: Callable[[Trigger], None], clock: Clock = system_clock,
                 interval: float = SWEEP_INTERVAL_SECONDS,
                 schedule: Callable[[Trigger, float], None] | None = None) -> None:
        self.sources = list(sources)
        self.deliver = deliver
        self.schedule = schedule
        # Timers sent ahead by this process, by (timer, due time): each is sent once.
        self._scheduled: dict[tuple[str, datetime], None] = {}
        self.clock = clock
        self.interval = interval
        self._woken = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self) -> int:
        """Fires every timer due now; answers how many fired."""
        fired = 0
        now = self.clock()
        for source in self.sources:
            for trigger in source.due(now, SWEEP_LIMIT):
                try:
                    self.deliver(trigger)
                    fired += 1
                except Exception as error:  # this timer's trouble: the next sweep fires it again
                    log.error("timer %s of %s %s failed, fired again at the next sweep: %s",
                              trigger.type, trigger.aggregate_id, trigger.data, describe_error(error))
        return fired

    def send_ahead(self) -> int:
        """Sends each timer due within the next interval as a delayed message, once; answers how many."""
        if self.schedule is None:
            return 0
        now = self.clock()
        until = now + timedelta(seconds=self.interval)
        self._scheduled = {key: None for key in self._scheduled if key[1] > now}
        sent = 0
        for source in self.sources:
            for at, trigger in source.upcoming(now, until, SWEEP_LIMIT):
                key = (trigger.event_id, at)
                if key in self._scheduled:
                    continue
                try:
                    self.schedule(trigger, max(0.0, (at - now).total_seconds()))
                except Exception as error:  # the sweep fires it when due: the safety net
                    log.error("timer %s of %s could not be sent ahead: %s", trigger.type, trigger.aggregate_id,
                              describe_error(error))
                    continue
                self._scheduled[key] = None
                sent += 1
        return sent

    def seconds_to_next(self, now: datetime) -> float:
        upcoming = [at for at in (source.next_at(now) for source in self.sources) if at is not None]
        if not upcoming:
            return self.interval
        return max(0.0, min(self.interval, (min(upcoming) - now).total_seconds()))

    def status(self) -> dict:
        """The sweep as `projections status` shows the consumers of the log. A timer still owed well
        after its time (two intervals and a minute) means no sweep is firing it, or its policy fails
        each time (the log of the process that sweeps says why): the sweep is then `stalled`."""
        now = self.clock()
        late = now - timedelta(seconds=2 * self.interval + 60)
        overdue = sorted(at for source in self.sources for at, _trigger in source.upcoming(None, late, SWEEP_LIMIT))
        upcoming = [at for at in (source.next_at(now) for source in self.sources) if at is not None]
        # The keys of a read model's row (projections/status.py), so that one table lists every
        # consumer; a sweep follows no log position.
        return {"name": self.name, "state": "stalled" if overdue else "running", "generation": None, "position": None,
                "head": None, "lag": None, "moved_at": None, "last_error": None,
                "parked": {"events": 0, "held_tenants": [], "listed": []}, "rebuilding": None,
                "overdue": len(overdue), "oldest_overdue_at": overdue[0].isoformat() if overdue else None,
                "next_at": min(upcoming).isoformat() if upcoming else None}

    def wake(self, position: int | None = None) -> None:
        self._woken.set()

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="ledgerdesk-timers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._woken.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        recheck = RECHECK_SECONDS
        while not self._stopping.is_set():
            wait = self.interval
            try:
                fired = self.sweep()
                if fired >= SWEEP_LIMIT:
                    wait = 0.0
                elif self.schedule is not None:  # the delayed messages are on time; the sweep is the net
                    self.send_ahead()
                else:
                    wait = self.seconds_to_next(self.clock())
                if fired:
                    # A timer whose policy found the ticket changed since the read models judged it
                    # is fired again once they have caught up; one that keeps failing, less often.
                    wait, recheck = min(wait, recheck), min(recheck * 2, self.interval)
                else:
                    recheck = RECHECK_SECONDS
            except Exception as error:  # a read model unreachable: try again after the interval
                log.error("timer sweep failed, tried again in %.0f s: %s", self.interval, describe_error(error))
            if self._woken.wait(wait):
                self._woken.clear()
                self._stopping.wait(SETTLE_SECONDS)  # let the read models take the new events in
