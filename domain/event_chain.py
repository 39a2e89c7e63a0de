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
from datetime import datetime

ALGORITHM = "sha256-chain-v1"
GENESIS = "0" * 64  # the "previous hash" of a stream's first event, and of the first checkpoint
UNRECORDED = ""  # what the running hash takes for an event that has no recorded hash


def event_hash(prev_hash: str, stream_id: str, version: int, topic: str, state: bytes) -> str:
    # Each part ends with a NUL, then the state: one buffer made once, hashed in one call (verifying
    # the log hashes every event, so this is its hot path).
    head = f"{ALGORITHM}\0{prev_hash}\0{stream_id}\0{version}\0{topic}\0".encode()
    digest = hashlib.sha256(head)
    digest.update(state)
    return digest.hexdigest()


def log_link(running: str, position: int, hash_: str) -> str:
    """The log's running hash after the event at `position` whose hash is `hash_` (UNRECORDED for
    an event with no hash recorded: appended before chaining began, or slipped in)."""
    return hashlib.sha256(f"{running}\0{position}\0{hash_}".encode()).hexdigest()


def checkpoint_hash(prev_checkpoint: str, position: int, running: str) -> str:
    """A checkpoint's own hash: the running hash at `position`, chained to the checkpoint before."""
    return hashlib.sha256(f"{ALGORITHM}\0checkpoint\0{prev_checkpoint}\0{position}\0{running}".encode()).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """The log's running hash at `position`, chained to the checkpoint before (`seq` - 1)."""

    seq: int
    position: int
    running_hash: str
    prev_checkpoint_hash: str
    checkpoint_hash: str
    created_at: datetime

    def follows(self, prev: Checkpoint | None) -> bool:
        """Whether this checkpoint hashes right and is chained to `prev` (None: it is the first)."""
        expected_prev = GENESIS if prev is None else prev.checkpoint_hash
        expected_seq = 1 if prev is None else prev.seq + 1
        return (self.seq == expected_seq and self.prev_checkpoint_hash == expected_prev
                and self.checkpoint_hash == checkpoint_hash(expected_prev, self.position, self.running_hash))


def next_checkpoint(prev: Checkpoint | None, position: int, running: str, created_at: datetime) -> Checkpoint:
    prev_hash = GENESIS if prev is None else prev.checkpoint_hash
    return Checkpoint((prev.seq if prev else 0) + 1, position, running, prev_hash,
                      checkpoint_hash(prev_hash, position, running), created_at)


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


class StreamCheck:
    """One stream's chain checked an event at a time, in version order: what `check_stream` does,
    for a reader that meets a stream's events spread over the log (verifying the whole log)."""

    __slots__ = ("stream_id", "prev", "expected", "seen", "breaks")

    def __init__(self, stream_id: str, prev: str = GENESIS, first_version: int = 1, track_seen: bool = True) -> None:
        self.stream_id = stream_id
        self.prev, self.expected = prev, first_version
        # The versions met, for finish(recorded_versions); a caller that finds removed events
        # otherwise (the whole log: one query for hashes without events) saves the set.
        self.seen: set[int] | None = set() if track_seen else None
        self.breaks: list[Break] = []

    def add(self, version: int, topic: str, state: bytes, recorded_hash: str | None) -> None:
        stream_id, breaks = self.stream_id, self.breaks
        if self.seen is not None:
            self.seen.add(version)
        if self.expected < version:
            for missing in range(self.expected, version):
                breaks.append(Break(stream_id, missing, "removed", f"version {missing} is missing before version {version}"))
            if recorded_hash is not None:  # its predecessor is gone: nothing to check it against
                self.prev, self.expected = recorded_hash, version + 1
                return
        computed = event_hash(self.prev, stream_id, version, topic, state)
        if recorded_hash is None:
            breaks.append(Break(stream_id, version, "inserted", "no hash was recorded for this event when events were appended"))
        elif computed != recorded_hash:
            breaks.append(Break(stream_id, version, "altered",
                                "the event does not hash to what was recorded at append (its content or a previous event changed)"))
        # Go on from the hash recorded at append: the events after an altered one still check.
        self.prev, self.expected = recorded_hash or computed, version + 1

    def finish(self, recorded_versions: Iterable[int] = ()) -> list[Break]:
        """The breaks found; `recorded_versions` are the versions a hash was recorded for at append:
        one recorded with no event left is a removed event."""
        reported = {b.version for b in self.breaks if b.kind == "removed"}
        for version in sorted(set(recorded_versions) - (self.seen or set()) - reported):
            self.breaks.append(Break(self.stream_id, version, "removed",
                                     "a hash was recorded for this version at append, but the event is gone"))
        return self.breaks


def check_stream(stream_id: str, links: Iterable[StoredLink], recorded_versions: Iterable[int] = ()) -> tuple[list[Break], str]:
    """The breaks in one stream's chain (events in version order), and its head hash as recomputed.

    `recorded_versions` are the versions a hash was recorded for at append: one recorded with no
    event left is a removed event."""
    check = StreamCheck(stream_id)
    for link in links:
        check.add(link.version, link.topic, link.state, link.recorded_hash)
    return check.finish(recorded_versions), check.prev
