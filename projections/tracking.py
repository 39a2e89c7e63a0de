"""A read model's position as the eventsourcing library's `TrackingRecorder` sees it.

The projector writes positions in its own batch transactions; this view lets library code,
and read-your-writes waits, ask how far a read model has read the Ledger's log.
"""
from __future__ import annotations

import time
from collections.abc import Iterable

from eventsourcing.persistence import Tracking, TrackingRecorder

from .store import ReadStore


class ReadModelTracking(TrackingRecorder):
    def __init__(self, store: ReadStore, name: str, application_name: str = "Ledger") -> None:
        self.store = store
        self.name = name
        self.application_name = application_name

    def max_tracking_id(self, application_name: str) -> int | None:
        if application_name != self.application_name:
            return None
        with self.store.reading() as conn:
            state = self.store.generations(conn, [self.name]).get(self.name)
        return state.active_position if state is not None else None

    def insert_tracking(self, tracking: Tracking) -> None:
        """Moves the active generation's position on (never back), e.g. past events of no interest."""
        if tracking.application_name != self.application_name:
            raise ValueError(f"{self.name} follows {self.application_name}, not {tracking.application_name}")
        with self.store.writing() as conn:
            state = self.store.generations(conn, [self.name], lock=True)[self.name]
            if tracking.notification_id > state.active_position:
                self.store.set_position(conn, self.name, state.active, tracking.notification_id)


def wait_until_applied(store: ReadStore, names: Iterable[str], position: int, timeout: float, still: float = 0.25) -> bool:
    """Waits until each named read model has applied the log up to `position`; answers whether
    they did. It gives up at `timeout`, or when a read model stands still for `still` seconds (no
    follower is moving it: waiting longer would change nothing)."""
    deadline = time.monotonic() + timeout
    for name in names:
        tracking = ReadModelTracking(store, name)
        seen, moved_at = tracking.max_tracking_id(tracking.application_name) or 0, time.monotonic()
        while seen < position:
            if time.monotonic() >= min(deadline, moved_at + still):
                return False
            time.sleep(0.01)
            now_at = tracking.max_tracking_id(tracking.application_name) or 0
            if now_at != seen:
                seen, moved_at = now_at, time.monotonic()
    return True
