"""Keeps the read models following the log while the process runs.

When to take a batch (woken by this process's commands, by PostgreSQL's LISTEN/NOTIFY, or by a
slow fallback wake; at most once per interval while traffic flows) is the log follower's
(application/log_follower.py). What a pass does is here: the projector catches every read
model up. Events a read model cannot apply are parked by the projector and never stop it. A
read model that fails for another reason (the database unreachable, a lock timed out) is
retried on its own, after a pause that doubles up to MAX_RETRY_SECONDS, while the others keep
following; its error is recorded for `projections status`.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ledgerdesk.application.log_follower import DEFAULT_FALLBACK_WAKE_SECONDS, DEFAULT_INTERVAL_SECONDS, LogFollower, Pass

from .parking import describe_error
from .policy_runner import PolicyRunner
from .projector import Projector, Target

log = logging.getLogger("ledgerdesk.projections")

FALLBACK_WAKE_SECONDS = DEFAULT_FALLBACK_WAKE_SECONDS
FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 30.0


class Follower:
    def __init__(self, projector: Projector | PolicyRunner, fallback_wake_seconds: float = FALLBACK_WAKE_SECONDS,
                 interval_seconds: float = DEFAULT_INTERVAL_SECONDS, name: str = "projector") -> None:
        self.projector = projector
        # Told after each pass that moved the read models (the timer sweep: their rows are its timers).
        self.on_progress: list[Callable[[], None]] = []
        self._following = LogFollower(
            name, self._pass, projector.log, projector.head, interval=interval_seconds, fallback_wake=fallback_wake_seconds
        )
        # Per read model in trouble: the pause before its next try, and when that is.
        self._pause: dict[str, float] = {}
        self._retry_at: dict[str, float] = {}

    def wake(self, position: int | None = None) -> None:
        self._following.wake(position)

    def start(self) -> None:
        self._following.start()

    def stop(self) -> None:
        self._following.stop()

    def _failed(self, target: Target, error: Exception) -> None:
        name = target.model.name
        pause = min(self._pause.get(name, FIRST_RETRY_SECONDS / 2) * 2, MAX_RETRY_SECONDS)
        self._pause[name] = pause
        self._retry_at[name] = time.monotonic() + pause
        log.error("read model %s failed (retrying in %.1f s): %s", name, pause, describe_error(error))
        self.projector.store.record_error(name, describe_error(error), self.projector.clock())

    def _pass(self) -> Pass:
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
        if applied:
            for listener in self.on_progress:
                listener()
        retries = [at - time.monotonic() for at in self._retry_at.values()]
        return Pass(applied, min(retries) if retries else None)


class Followers:
    """Several followers of the log in one process, started, woken and stopped together; each
    with its own thread, positions and pace, so a slow one holds back none of the others."""

    def __init__(self, followers: list) -> None:  # Follower, or anything that starts, wakes and stops
        self.followers = followers

    @property
    def models(self) -> list:
        return [model for follower in self.followers for model in getattr(follower, "projector", follower).models]

    def wake(self, position: int | None = None) -> None:
        for follower in self.followers:
            follower.wake(position)

    def start(self) -> None:
        for follower in self.followers:
            follower.start()

    def stop(self) -> None:
        for follower in self.followers:
            follower.stop()
