"""Following the log in a thread of its own: when to take the next batch.

Any follower of the log (the read models' projector, the policies' relay) is a `step` that
handles what was committed since its own tracked position and says how far it moved. This
module decides when to call it:

- at once when woken after a quiet spell, so a lone command shows quickly;
- while traffic flows, no more often than once per `interval`: what commits in between waits
  for the next pass and is taken as one batch, so a batch's fixed cost (a transaction, locks,
  the position) is spread over many events instead of paid per command;
- woken by the write path of this process, by the log's own subscription where its recorder
  has one (PostgreSQL's LISTEN/NOTIFY), and otherwise every `fallback_wake` seconds, for
  writers it cannot hear.

The step owns its position and its failures; this loop only keeps calling it.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from eventsourcing.persistence import ApplicationRecorder

log = logging.getLogger("ledgerdesk.following")

DEFAULT_INTERVAL_SECONDS = 0.025
DEFAULT_FALLBACK_WAKE_SECONDS = 2.0


@dataclass(frozen=True)
class Pass:
    """What one call of a follower's step did."""

    moved: int  # log positions it moved on; 0 when there was nothing new
    due_in: float | None = None  # seconds until it owes a pass anyway (a retry), if it does


class LogFollower:
    def __init__(
        self,
        name: str,
        step: Callable[[], Pass],
        log_recorder: ApplicationRecorder,
        head: Callable[[], int],
        interval: float = DEFAULT_INTERVAL_SECONDS,
        fallback_wake: float = DEFAULT_FALLBACK_WAKE_SECONDS,
    ) -> None:
        self.name = name
        self.step = step
        self.log_recorder = log_recorder
        self.head = head
        self.interval = interval
        self.fallback_wake = fallback_wake
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._subscription = None

    def wake(self, _position: int | None = None) -> None:
        """Says the log may have grown (cheap: called after every command of this process)."""
        self._wake.set()

    def start(self) -> None:
        self._threads.append(threading.Thread(target=self._follow, name=f"ledgerdesk-{self.name}", daemon=True))
        try:
            self._subscription = self.log_recorder.subscribe(gt=self.head())
        except NotImplementedError:  # eventsourcing's SQLite recorder: woken from the write path only
            self._subscription = None
        if self._subscription is not None:
            self._threads.append(threading.Thread(target=self._listen, name=f"ledgerdesk-{self.name}-listener", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._subscription is not None:
            self._subscription.stop()
        for thread in self._threads:
            thread.join(timeout=10)

    def _listen(self) -> None:
        # Each notification only says the log has grown; the step reads the events itself, from
        # its tracked position, so nothing depends on this stream being complete.
        try:
            for _ in self._subscription:  # type: ignore[union-attr]
                self._wake.set()
        except Exception:  # the fallback wake keeps the follower going
            if not self._stopping.is_set():
                log.exception("%s: log subscription failed; following on the fallback wake only", self.name)

    def _follow(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            started = time.monotonic()
            try:
                done = self.step()
            except Exception:  # the step handles its own failures; this only keeps the thread alive
                log.exception("%s: a pass failed", self.name)
                done = Pass(0)
            if done.moved:
                # Traffic flows: let the next batch gather for the rest of the interval.
                self._stopping.wait(max(0.0, self.interval - (time.monotonic() - started)))
                continue
            waits = [self.fallback_wake] if done.due_in is None else [self.fallback_wake, done.due_in]
            self._wake.wait(max(0.0, min(waits)))
