"""Each new event's hash, computed at append, for the recorders to store beside the events.

The recorders (sqlite_recorder.py, postgres_recorder.py) store these rows in the transaction
that inserts the events, so an event is never stored without its hash nor a hash without its
event. The events' own rows are left exactly as the library stores them.

An event at version v > 1 is chained to the hash of version v - 1 of its stream, found in the
same insert, else in a small bounded cache of the streams' last hashes (a hit is always right:
a committed version's hash never changes, and the cache learns a hash only after its commit),
else looked up in the database. A stream whose earlier events have no hash (appended before
chaining began) starts its chain at the new event, from GENESIS: `audit verify` reports those
earlier events as unsealed history, not as tampering.

Must not import interfaces, fastapi or SQL drivers: the recorders bring the SQL.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledgerdesk.domain.event_chain import GENESIS, event_hash

# Streams whose last hash is kept: the aggregates this process wrote lately (about 200 bytes each).
CACHE_STREAMS = 50_000

HashRow = tuple[UUID, int, str]  # originator id, version, hash
Lookup = Callable[[list[tuple[UUID, int]]], dict[tuple[UUID, int], str]]


class LastHashes:
    """The last recorded hash of recently written streams, bounded, least recently used out first."""

    def __init__(self, max_streams: int = CACHE_STREAMS) -> None:
        self.max_streams = max_streams
        self._last: OrderedDict[UUID, tuple[int, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, originator_id: UUID, version: int) -> str | None:
        found = self._last.get(originator_id)
        return found[1] if found is not None and found[0] == version else None

    def learn(self, rows: Iterable[HashRow]) -> None:
        """Told the rows of a committed insert."""
        with self._lock:
            for originator_id, version, hash_ in rows:
                known = self._last.get(originator_id)
                if known is None or known[0] < version:
                    self._last[originator_id] = (version, hash_)
                    self._last.move_to_end(originator_id)
            while len(self._last) > self.max_streams:
                self._last.popitem(last=False)


def chain(stored_events: Sequence[StoredEvent], cache: LastHashes, lookup: Lookup) -> list[HashRow]:
    """The hash row of each event, in order; `lookup` is asked once, for the previous versions
    neither the insert itself nor the cache knows."""
    in_batch: dict[UUID, tuple[int, str]] = {}
    missing: list[tuple[UUID, int]] = []
    for event in stored_events:
        originator_id, version = event.originator_id, event.originator_version
        if version > 1 and originator_id not in in_batch and cache.get(originator_id, version - 1) is None:
            missing.append((originator_id, version - 1))
        in_batch.setdefault(originator_id, (version, ""))
    found = lookup(missing) if missing else {}
    rows: list[HashRow] = []
    last: dict[UUID, tuple[int, str]] = {}
    for event in stored_events:
        originator_id, version = event.originator_id, event.originator_version
        prev = GENESIS
        if version > 1:
            before = last.get(originator_id)
            if before is not None and before[0] == version - 1:
                prev = before[1]
            else:
                prev = cache.get(originator_id, version - 1) or found.get((originator_id, version - 1)) or GENESIS
        hash_ = event_hash(prev, str(originator_id), version, event.topic, event.state)
        last[originator_id] = (version, hash_)
        rows.append((originator_id, version, hash_))
    return rows
