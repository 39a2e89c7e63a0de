"""Keeps the read models following the log while the process runs.

The projector catches up, then sleeps until something says there is more: the write path of
this process (embedded mode: the Ledger tells it after each command), or, on PostgreSQL, the
eventsourcing library's LISTEN/NOTIFY subscription (a projection process on its own). A slow
fallback wake covers writers the follower cannot hear (another process on the same SQLite file).

Events a read model cannot apply are parked by the projector and never stop it. A read model
that fails for another reason (the database unreachable, a lock timed out) is retried on its
own, after a pause that doubles up to MAX_RETRY_SECONDS, while the others keep following; its
error is recorded for `projections status`.
"""
from __future__ import annotations

import logging
import threading
import time

from .parking import describe_error
from .projector import Projector, Target

log = logging.getLogger("ledgerdesk.projections")

FALLBACK_WAKE_SECONDS = 2.0
FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 30.0


class Follower:
    def __init__(self, projector: Projector, fallback_wake_seconds: float = FALLBACK_WAKE_SECONDS) -> None:
        self.projector = projector
        self.fallback_wake_seconds = fallback_wake_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._subscription = None
        # Per read model in trouble: the pause before its next try, and when that is.
        self._pause: dict[str, float] = {}
        self._retry_at: dict[str, float] = {}

    def wake(self, _position: int | None = None) -> None:
        self._wake.set()

    def start(self) -> None:
        """Starts following; also wakes on the log's subscription where its recorder has one (PostgreSQL)."""
        self._threads.append(threading.Thread(target=self._follow, name="ledgerdesk-projector", daemon=True))
        try:
            self._subscription = self.projector.log.subscribe(gt=self.projector.head())
        except NotImplementedError:  # eventsourcing's SQLite recorder: woken from the write path only
            self._subscription = None
        if self._subscription is not None:
            self._threads.append(threading.Thread(target=self._listen, name="ledgerdesk-log-listener", daemon=True))
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
        # Each notification says the log has grown; the projector reads the events itself, in
        # batches from its tracked position, so nothing depends on this stream being complete.
        try:
            for _ in self._subscription:  # type: ignore[union-attr]
                self._wake.set()
        except Exception:  # the fallback wake keeps the follower going
            if not self._stopping.is_set():
                log.exception("log subscription failed; following on the fallback wake only")

    def _failed(self, target: Target, error: Exception) -> None:
        name = target.model.name
        pause = min(self._pause.get(name, FIRST_RETRY_SECONDS / 2) * 2, MAX_RETRY_SECONDS)
        self._pause[name] = pause
        self._retry_at[name] = time.monotonic() + pause
        log.error("read model %s failed (retrying in %.1f s): %s", name, pause, describe_error(error))
        self.projector.store.record_error(name, describe_error(error), self.projector.clock())

    def _follow(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            now = time.monotonic()
            due = [Target(m) for m in self.projector.models if self._retry_at.get(m.name, 0.0) <= now]
            applied = 0
            if due:
                try:
                    applied = self.projector.catch_up(due, on_error=self._failed)
                except Exception as error:  # reading the log itself failed: every read model waits
                    for target in due:
                        self._failed(target, error)
                for target in due:
                    if target.model.name not in self._retry_at or self._retry_at[target.model.name] <= now:
                        self._pause.pop(target.model.name, None)
                        self._retry_at.pop(target.model.name, None)
            if not applied:
                waits = [at - time.monotonic() for at in self._retry_at.values()]
                self._wake.wait(max(0.0, min([self.fallback_wake_seconds, *waits])))
