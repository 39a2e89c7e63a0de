"""Tamper evidence: each aggregate's events chained by hash, and the whole log by a running hash.

Pure functions over stored bytes, so that the same code checks the database and, offline, an
exported case file. An event's hash covers its stream (originator id), version, topic (its type)
and state exactly as stored (payload and metadata), and the hash of the stream's previous event:
change, remove or slip in one event and the chain breaks there. The log's running hash takes
every event's hash in log order; a checkpoint stores it at a position, chained to the previous
checkpoint, so that even a stream's last event cannot change unseen once a checkpoint covers it.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

ALGORITHM = "sha256-chain-v1"
GENESIS = "0" * 64  # the "previous hash" of a stream's first event, and of the first checkpoint


def event_hash(prev_hash: str, stream_id: str, version: int, topic: str, state: bytes) -> str:
    digest = hashlib.sha256()
    for part in (ALGORITHM.encode(), prev_hash.encode(), str(stream_id).encode(), str(version).encode(), topic.encode()):
        digest.update(part)
        digest.update(b"\0")
    digest.update(state)
    return digest.hexdigest()


def log_link(running: str, position: int, hash_: str) -> str:
    """The log's running hash after the event at `position` whose hash is `hash_`."""
    return hashlib.sha256(f"{running}\0{position}\0{hash_}".encode()).hexdigest()


def checkpoint_hash(prev_checkpoint: str, position: int, running: str) -> str:
    """A checkpoint's own hash: the running hash at `position`, chained to the checkpoint before."""
    return hashlib.sha256(f"{ALGORITHM}\0checkpoint\0{prev_checkpoint}\0{position}\0{running}".encode()).hexdigest()


@dataclass(frozen=True)
class StoredLink:
    """One event as stored, with the hash recorded for it at append (None: none recorded)."""

    version: int
    topic: str
    state: bytes
    recorded_hash: str | None


@dataclass(frozen=True)
class Break:
    """Where a stream's chain breaks, and how: altered (the event no longer hashes to what was
    recorded), removed (a version is missing), inserted (an event with no hash recorded at append)."""

    stream_id: str
    version: int
    kind: str  # "altered" | "removed" | "inserted"
    detail: str


def check_stream(stream_id: str, links: Iterable[StoredLink], recorded_versions: Iterable[int] = ()) -> tuple[list[Break], str]:
    """The breaks in one stream's chain (events in version order), and its head hash as recomputed.

    `recorded_versions` are the versions a hash was recorded for at append: one recorded with no
    event left is a removed event."""
    breaks: list[Break] = []
    prev, expected = GENESIS, 1
    seen = set()
    for link in links:
        seen.add(link.version)
        if expected < link.version:
            for missing in range(expected, link.version):
                breaks.append(Break(stream_id, missing, "removed", f"version {missing} is missing before version {link.version}"))
            if link.recorded_hash is not None:  # its predecessor is gone: nothing to check it against
                prev, expected = link.recorded_hash, link.version + 1
                continue
        computed = event_hash(prev, stream_id, link.version, link.topic, link.state)
        if link.recorded_hash is None:
            breaks.append(Break(stream_id, link.version, "inserted", "no hash was recorded for this event when events were appended"))
        elif computed != link.recorded_hash:
            breaks.append(Break(stream_id, link.version, "altered",
                                "the event does not hash to what was recorded at append (its content or a previous event changed)"))
        # Go on from the hash recorded at append: the events after an altered one still check.
        prev, expected = link.recorded_hash or computed, link.version + 1
    reported = {b.version for b in breaks if b.kind == "removed"}
    for version in sorted(set(recorded_versions) - seen - reported):
        breaks.append(Break(stream_id, version, "removed", "a hash was recorded for this version at append, but the event is gone"))
    return breaks, prev
