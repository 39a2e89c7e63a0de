"""Keeps the read models following the log while the process runs.

The projector catches up, then sleeps until something says there is more: the write path of
this process (embedded mode: the Ledger tells it after each command), or, on PostgreSQL, the
eventsourcing library's LISTEN/NOTIFY subscription (a projection process on its own). A slow
fallback wake covers writers the follower cannot hear (another process on the same SQLite file).
"""
from __future__ import annotations

import logging
import threading
from .projector import Projector

log = logging.getLogger("ledgerdesk.projections")

FALLBACK_WAKE_SECONDS = 2.0
RETRY_AFTER_ERROR_SECONDS = 1.0


class Follower:
    def __init__(self, projector: Projector, fallback_wake_seconds: float = FALLBACK_WAKE_SECONDS) -> None:
        self.projector = projector
        self.fallback_wake_seconds = fallback_wake_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._subscription = None

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

    def _follow(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                applied = self.projector.catch_up()
            except Exception:
                log.exception("projecting failed; retrying")
                self._stopping.wait(RETRY_AFTER_ERROR_SECONDS)
                continue
            if not applied:
                self._wake.wait(self.fallback_wake_seconds)
