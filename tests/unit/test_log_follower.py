"""When a follower of the log takes its batches: at once after a quiet spell, at most once per
interval while traffic flows (trial behind it: every command paid for a projection batch of its own)."""
from __future__ import annotations

import threading
import time

from eventsourcing.popo import POPOApplicationRecorder

from ledgerdesk.application.log_follower import LogFollower, Pass


class Log:
    """A log the test appends to; the step takes whatever was appended since its last pass."""

    def __init__(self) -> None:
        self.appended = 0
        self.taken = 0
        self.passes: list[tuple[float, int]] = []  # when, how many events the pass took
        self.lock = threading.Lock()

    def append(self) -> None:
        with self.lock:
            self.appended += 1

    def step(self) -> Pass:
        with self.lock:
            batch = self.appended - self.taken
            self.taken = self.appended
        if batch:
            self.passes.append((time.monotonic(), batch))
        return Pass(batch)


def following(log: Log, interval: float) -> LogFollower:
    return LogFollower("test", log.step, POPOApplicationRecorder(), lambda: 0, interval=interval, fallback_wake=3600)


def test_while_commands_keep_coming_the_follower_takes_one_batch_per_interval() -> None:
    log = Log()
    follower = following(log, interval=0.2)
    follower.start()
    try:
        until = time.monotonic() + 1.0
        while time.monotonic() < until:  # a command every 2 ms, each waking the follower
            log.append()
            follower.wake()
            time.sleep(0.002)
        time.sleep(0.5)
    finally:
        follower.stop()
    assert log.taken == log.appended
    # About 1.0 s / 0.2 s passes, not one per command; never two within much less than the interval.
    assert len(log.passes) <= 8, log.passes
    gaps = [b[0] - a[0] for a, b in zip(log.passes, log.passes[1:])]
    assert min(gaps) >= 0.19, gaps
    assert max(batch for _, batch in log.passes) > 20


def test_after_a_quiet_spell_a_lone_command_is_taken_at_once() -> None:
    log = Log()
    follower = following(log, interval=5.0)
    follower.start()
    try:
        log.append()
        follower.wake()
        time.sleep(0.1)
        assert len(log.passes) == 1  # the first command after start-up: no interval to wait
        # The follower owes the interval after a pass that moved; the pass after it finds nothing
        # new only after that, so a command five seconds later is again a quiet spell's first.
        time.sleep(5.2)
        log.append()
        woken = time.monotonic()
        follower.wake()
        while len(log.passes) < 2 and time.monotonic() - woken < 2:
            time.sleep(0.005)
        assert len(log.passes) == 2
        assert log.passes[1][0] - woken < 0.1
    finally:
        follower.stop()


def test_a_step_that_raises_does_not_end_the_following() -> None:
    calls = []

    def step() -> Pass:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug in a follower")
        return Pass(0)

    follower = LogFollower("test", step, POPOApplicationRecorder(), lambda: 0, interval=0.0, fallback_wake=3600)
    follower.start()
    try:
        time.sleep(0.05)
        follower.wake()
        time.sleep(0.05)
    finally:
        follower.stop()
    assert len(calls) >= 2
