"""Durable SLA timers: the sweep over the SLA read model that fires the escalation policy.

The clocks' warning and due times are rows of the SLA read model, which is rebuilt from the log,
so no timer is lost with a process, a message or a broker. The sweep sleeps until the earliest
time still to come (or `interval` at most, or until woken by new events, which may start a
sooner clock), then fires the timer of every clock that owes an escalation. Firing means
`deliver(trigger)`: running the policy in this process (the embedded default), or sending a
message to the workers. A timer fired again before its escalation reached the read model is
the same command again (its id derives from the timer), which appends nothing twice.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from ledgerdesk.application.escalation_policy import timer_trigger
from ledgerdesk.application.policy import Trigger
from ledgerdesk.application.ports import Clock, system_clock

from .parking import describe_error
from .sla.due_clocks import due_clocks, next_due
from .store import ReadStore

log = logging.getLogger("ledgerdesk.policies")

SWEEP_INTERVAL_SECONDS = 30.0
# After new events, how long the sweep lets the read model take them in before it looks again;
# also the least time between two looks while events keep coming.
SETTLE_SECONDS = 0.5
SWEEP_LIMIT = 500


class EscalationSweep:
    name = "policy:escalation"
    models: list = []  # it follows no log position: nothing of it to rebuild or track

    def __init__(self, store: ReadStore, deliver: Callable[[Trigger], None], clock: Clock = system_clock,
                 interval: float = SWEEP_INTERVAL_SECONDS) -> None:
        self.store = store
        self.deliver = deliver
        self.clock = clock
        self.interval = interval
        self.fired = 0
        self.last_error: str | None = None
        self._woken = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self) -> int:
        """Fires the timer of every clock that owes an escalation now; answers how many fired."""
        fired = 0
        for due in due_clocks(self.store, self.clock(), limit=SWEEP_LIMIT):
            trigger = timer_trigger(due.tenant, due.ticket_id, str(due.reading.metric), due.reading.cycle, str(due.level))
            try:
                self.deliver(trigger)
                fired += 1
            except Exception as error:  # this clock's trouble: the next sweep tries it again
                self.last_error = describe_error(error)
                log.error("escalation of ticket %s (%s %s) failed, tried again at the next sweep: %s",
                          due.ticket_id, due.reading.metric, due.level, self.last_error)
        self.fired += fired
        return fired

    def seconds_to_next(self, now: datetime) -> float:
        upcoming = next_due(self.store, now)
        if upcoming is None:
            return self.interval
        return max(0.0, min(self.interval, (upcoming - now).total_seconds()))

    def wake(self, position: int | None = None) -> None:
        self._woken.set()

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="ledgerdesk-escalation", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._woken.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopping.is_set():
            wait = self.interval
            try:
                if self.sweep() >= SWEEP_LIMIT:
                    wait = 0.0
                else:
                    wait = self.seconds_to_next(self.clock())
            except Exception as error:  # the read model unreachable: try again after the interval
                self.last_error = describe_error(error)
                log.error("escalation sweep failed, tried again in %.0f s: %s", self.interval, self.last_error)
            if self._woken.wait(wait):
                self._woken.clear()
                self._stopping.wait(SETTLE_SECONDS)  # let the read model take the new events in
