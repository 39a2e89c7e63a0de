"""The audit checkpointer: the log's running hash, stored every N events or T seconds.

The running hash takes each event's recorded hash in log order from position 1 (log_link); a
checkpoint stores it at the last position it covers, chained to the checkpoint before. Its
position is its own tracked position: the next checkpoint goes on from the last one, read back
from the events' database, so the checkpoint and the position commit as one row, and two
checkpointers (two processes) cannot both write the next one (its `seq` is the key).

Once a checkpoint covers an event, changing it is seen even by someone who rewrote the event
and every later hash of its stream consistently: the running hash no longer matches.

Must not import interfaces, fastapi or SQL drivers.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from eventsourcing.persistence import IntegrityError

from ledgerdesk.domain.event_chain import GENESIS, UNRECORDED, Checkpoint, log_link, next_checkpoint

from .chain_records import ChainRecords
from .ports import Clock, system_clock

EVERY_EVENTS = 1000
EVERY_SECONDS = 60.0
PAGE = 5000
NAME = "audit:checkpoints"
POLL_SECONDS = 1.0

log = logging.getLogger("ledgerdesk.audit")


def running_hash(records: ChainRecords, start: Checkpoint | None, up_to: int) -> tuple[str, int]:
    """The running hash from a checkpoint (None: from the log's start) to `up_to`, and the last
    position it covers."""
    running, position = (start.running_hash, start.position) if start else (GENESIS, 0)
    while position < up_to:
        rows = records.select_log_hashes(position, up_to, PAGE)
        if not rows:
            break
        for position, hash_ in rows:  # noqa: B007 - the last position is the answer
            running = log_link(running, position, hash_ or UNRECORDED)
    return running, position


@dataclass
class Checkpointer:
    records: ChainRecords
    clock: Clock = system_clock
    every_events: int = EVERY_EVENTS
    every_seconds: float = EVERY_SECONDS
    _since: float = field(default_factory=time.monotonic)  # when the first checkpoint falls due by time

    _latest: Checkpoint | None = None  # the last one written or read; re-read when another wrote after it

    def latest(self, fresh: bool = True) -> Checkpoint | None:
        if fresh or self._latest is None:
            found = self.records.select_checkpoints(limit=1, latest_first=True)
            self._latest = found[0] if found else None
        return self._latest

    def step(self, force: bool = False) -> tuple[int, float | None]:
        """Writes the checkpoints due (`force`: and one for the rest, up to the head); answers the
        positions covered and the seconds until one falls due by time (None: nothing pending)."""
        moved, fresh = 0, force
        while True:
            last = self.latest(fresh)
            start = last.position if last else 0
            head = self.records.max_notification_id() or 0
            if head <= start:
                return moved, None
            waited = (self.clock() - last.created_at).total_seconds() if last else time.monotonic() - self._since
            by_count = head - start >= self.every_events
            if not (force or by_count or waited >= self.every_seconds):
                return moved, self.every_seconds - waited
            up_to = start + self.every_events if by_count else head
            running, position = running_hash(self.records, last, up_to)
            if position <= start:
                return moved, None
            checkpoint = next_checkpoint(last, position, running, self.clock())
            try:
                self.records.insert_checkpoint(checkpoint)
            except IntegrityError:  # another checkpointer wrote it first: go on from theirs
                fresh = True
                continue
            self._latest, fresh = checkpoint, False
            moved += position - start
            if force and position >= head:
                return moved, None


class CheckpointFollower:
    """Runs the checkpointer in a thread of its own, every POLL_SECONDS: it owes a checkpoint
    only every N events or T seconds, so it is not woken by each append (as read models are)."""

    models: list = []  # it keeps no read model (what `Followers.models` lists)

    def __init__(self, checkpointer: Checkpointer, poll_seconds: float = POLL_SECONDS) -> None:
        self.checkpointer = checkpointer
        self.poll_seconds = poll_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self, _position: int | None = None) -> None:
        """Appends do not wake it: it looks at the log every poll."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._follow, name="ledgerdesk-audit-checkpoints", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _follow(self) -> None:
        while not self._stopping.wait(self.poll_seconds):
            try:
                self.checkpointer.step()
            except Exception:  # the database away, say: tried again at the next poll
                log.exception("%s: writing a checkpoint failed", NAME)


def checkpointer_status(checkpointer: Checkpointer) -> dict:
    """The checkpointer as `projections status` shows the consumers of the log."""
    last = checkpointer.latest()
    head = checkpointer.records.max_notification_id() or 0
    position = last.position if last else 0
    lag = max(0, head - position)
    stale = last is None or (checkpointer.clock() - last.created_at).total_seconds() > 2 * checkpointer.every_seconds + 60
    state = "running" if lag < checkpointer.every_events and not (lag and stale) else ("stalled" if stale else "catching_up")
    # The shape of a read model's row (projections/status.py), so that one table lists every consumer.
    return {"name": NAME, "state": state, "generation": None, "position": position, "head": head, "lag": lag,
            "moved_at": last.created_at.isoformat() if last else None, "last_error": None,
            "parked": {"events": 0, "held_tenants": [], "listed": []}, "rebuilding": None,
            "checkpoints": last.seq if last else 0}
