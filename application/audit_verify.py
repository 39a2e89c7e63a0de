"""Verifying the stored history: one stream's hash chain, or the whole log with its checkpoints.

What is found, and where:
- altered: an event no longer hashes to what was recorded at append (stream, version, position);
- removed: a version missing before a later one, or a hash recorded for an event that is gone;
- inserted: an event with no hash recorded (an extra version, or a row slipped in);
- checkpoint: the log's running hash differs from a checkpoint's, or a checkpoint is not chained
  to the one before: something between that checkpoint and the one before it changed (found even
  when the events and every later hash of a stream were rewritten consistently).

Events appended before chaining began (positions up to the chain's origin, chain_records.py)
have no hash: while a stream starts with such events they are counted as unsealed history, not
breaks, and its chain starts at its first hashed event.

Must not import interfaces, fastapi or SQL drivers.
"""
from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from ledgerdesk.domain.event_chain import ALGORITHM, GENESIS, UNRECORDED, Break, Checkpoint, StreamCheck, log_link

from .chain_records import ChainRecords, LogRow, StreamRow

PAGE = 5000


def _break(found: Break, position: int | None) -> dict[str, Any]:
    return {"stream_id": found.stream_id, "version": found.version, "kind": found.kind, "position": position,
            "detail": found.detail}


def checkpoint_view(checkpoint: Checkpoint | None) -> dict[str, Any] | None:
    if checkpoint is None:
        return None
    return {"seq": checkpoint.seq, "position": checkpoint.position, "running_hash": checkpoint.running_hash,
            "prev_checkpoint_hash": checkpoint.prev_checkpoint_hash, "checkpoint_hash": checkpoint.checkpoint_hash,
            "created_at": checkpoint.created_at.isoformat()}


def _unsealed_prefix(rows: list[StreamRow], origin: int) -> int:
    """How many of a stream's first events were appended before chaining began (no hash, old position)."""
    count = 0
    for _version, _topic, _state, hash_, position in rows:
        if hash_ is not None or position > origin:
            break
        count += 1
    return count


def _covering(records: ChainRecords, position: int | None) -> Checkpoint | None:
    latest = records.select_checkpoints(limit=1, latest_first=True)
    return latest[0] if latest and position is not None and latest[0].position >= position else None


def verify_stream(records: ChainRecords, stream_id: UUID) -> dict[str, Any]:
    """One stream's chain checked: its breaks, its head, and the latest checkpoint if it covers the head."""
    rows = records.select_chain_links(stream_id)
    origin, _began_at = records.chain_origin()
    unsealed = _unsealed_prefix(rows, origin)
    check = StreamCheck(str(stream_id), GENESIS, rows[unsealed][0] if unsealed < len(rows) else 1)
    positions: dict[int, int] = {}
    for version, topic, state, hash_, position in rows[unsealed:]:
        positions[version] = position
        check.add(version, topic, state, hash_)
    breaks = check.finish(records.select_recorded_versions(stream_id))
    head = rows[-1] if rows else None
    return {
        "stream_id": str(stream_id),
        "events": len(rows),
        "unsealed_events": unsealed,
        "head_version": head[0] if head else None,
        "head_hash": head[3] if head else None,
        "verified": not breaks,
        "breaks": [_break(b, positions.get(b.version) if b.kind != "removed" else None) for b in breaks],
        "checkpoint": checkpoint_view(_covering(records, head[4] if head else None)),
    }


def stream_proof(records: ChainRecords, stream_id: UUID, up_to_version: int | None = None) -> dict[str, Any]:
    """What checks a stream's history offline (a case file), as plain JSON-ready values:

    - `algorithm` (domain/event_chain.ALGORITHM), `stream_id`, `genesis` (the previous hash of
      the first chained event);
    - `events`: each event up to `up_to_version`, in version order: `version`, `topic`, `state`
      (the stored bytes as UTF-8 text: stored state is UTF-8 JSON, so `state.encode()` gives the
      bytes hashed back), `hash` (recorded at append; None for unsealed history) and `position`;
    - `unsealed_events`: how many of the first events were appended before chaining began;
    - `head_version`, `head_hash`: the last event's, as recorded;
    - `checkpoint`: the latest checkpoint if it covers the head (its `position` is at or after the
      head's), else None. Its running hash is over the whole log, so checking it needs the log.

    To check: from `genesis`, for each chained event `event_hash(prev, stream_id, version, topic,
    state.encode())` must equal its `hash` (domain/event_chain.check_stream does it).
    """
    rows = records.select_chain_links(stream_id)
    if up_to_version is not None:
        rows = [row for row in rows if row[0] <= up_to_version]
    origin, _began_at = records.chain_origin()
    head = rows[-1] if rows else None
    return {
        "algorithm": ALGORITHM,
        "stream_id": str(stream_id),
        "genesis": GENESIS,
        "events": [{"version": v, "topic": t, "state": bytes(s).decode("utf-8"), "hash": h, "position": p} for v, t, s, h, p in rows],
        "unsealed_events": _unsealed_prefix(rows, origin),
        "head_version": head[0] if head else None,
        "head_hash": head[3] if head else None,
        "checkpoint": checkpoint_view(_covering(records, head[4] if head else None)),
    }


@dataclass
class LogReport:
    events: int = 0
    streams: int = 0
    unsealed_events: int = 0
    head: int = 0
    checkpoints: int = 0
    breaks: list[dict[str, Any]] = field(default_factory=list)
    checkpoint_breaks: list[dict[str, Any]] = field(default_factory=list)
    chain_began_at: str = ""
    seconds: float = 0.0

    @property
    def verified(self) -> bool:
        return not self.breaks and not self.checkpoint_breaks

    def as_dict(self) -> dict[str, Any]:
        return {"verified": self.verified, "events": self.events, "streams": self.streams, "head": self.head,
                "unsealed_events": self.unsealed_events, "chain_began_at": self.chain_began_at,
                "checkpoints": self.checkpoints, "breaks": self.breaks, "checkpoint_breaks": self.checkpoint_breaks,
                "seconds": round(self.seconds, 3),
                "events_per_second": round(self.events / self.seconds) if self.seconds else None}


class _CheckpointWalk:
    """The checkpoints compared, in order, with the running hash as the log is read."""

    def __init__(self, checkpoints: list[Checkpoint], report: LogReport) -> None:
        self.checkpoints, self.report = checkpoints, report
        self.next = 0
        self.upcoming = checkpoints[0].position if checkpoints else None
        prev = None
        for checkpoint in checkpoints:
            if not checkpoint.follows(prev):
                report.checkpoint_breaks.append({
                    "seq": checkpoint.seq, "position": checkpoint.position, "after_position": prev.position if prev else 0,
                    "detail": "the checkpoint is not chained to the one before it (a checkpoint was changed or removed)"})
            prev = checkpoint

    def reached(self, running: str, up_to: int) -> str:
        """Compares the checkpoints at positions before `up_to` with `running` (the log's running
        hash over every position before `up_to`); answers the running hash to go on from."""
        while self.upcoming is not None and self.upcoming < up_to:
            checkpoint = self.checkpoints[self.next]
            if checkpoint.running_hash != running:
                after = self.checkpoints[self.next - 1].position if self.next else 0
                self.report.checkpoint_breaks.append({
                    "seq": checkpoint.seq, "position": checkpoint.position, "after_position": after,
                    "detail": f"the log between positions {after} and {checkpoint.position} changed after checkpoint "
                              f"{checkpoint.seq} was taken (its running hash differs)"})
                running = checkpoint.running_hash  # the next interval is checked on its own
            self.report.checkpoints += 1
            self.next += 1
            self.upcoming = self.checkpoints[self.next].position if self.next < len(self.checkpoints) else None
        return running


def _log_pages(records: ChainRecords, head: int, page: int) -> Iterator[list[LogRow]]:
    """The log up to `head` in pages; where the records read ahead (PostgreSQL), the next page is
    read while the caller hashes this one, so the wait for rows is spent hashing (the database
    works in its own process, and the driver waits for it without holding the GIL)."""
    if not records.reads_ahead:
        after = 0
        while after < head and (rows := records.select_log_links(after, page)):
            after = rows[-1][0]
            yield rows
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-read") as reader:
        upcoming = reader.submit(records.select_log_links, 0, page) if head > 0 else None
        while upcoming is not None:
            rows = upcoming.result()
            if not rows:
                return
            after = rows[-1][0]
            upcoming = reader.submit(records.select_log_links, after, page) if after < head else None
            yield rows


@contextmanager
def _collections_paused() -> Iterator[None]:
    """Verifying allocates a few objects per event and keeps one per stream, and makes no
    reference cycles: the collector's passes over them were a fifth of its time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def verify_log(records: ChainRecords, progress: Callable[[int], None] | None = None, page: int = PAGE) -> LogReport:
    """Every stream's chain and every checkpoint, reading the log once in pages; `progress` is
    told how many events each page held."""
    with _collections_paused():
        return _verify_log(records, progress, page)


def _verify_log(records: ChainRecords, progress: Callable[[int], None] | None, page: int) -> LogReport:
    started = time.perf_counter()
    report = LogReport()
    origin, began_at = records.chain_origin()
    report.chain_began_at = began_at.isoformat()
    checkpoints = _CheckpointWalk(records.select_checkpoints(), report)
    report.head = records.max_notification_id() or 0
    streams: dict[str, StreamCheck | None] = {}  # None: so far only unsealed history
    running, after, events, unsealed = GENESIS, 0, 0, 0
    found: list[dict[str, Any]] = []
    for rows in _log_pages(records, report.head, page):
        running = checkpoints.reached(running, rows[0][0])
        upcoming = checkpoints.upcoming
        for position, stream_id, version, topic, state, hash_ in rows:
            if upcoming is not None and upcoming < position:
                running = checkpoints.reached(running, position)
                upcoming = checkpoints.upcoming
            running = log_link(running, position, hash_ or UNRECORDED)
            check = streams.get(stream_id)
            if check is None:
                if hash_ is None and position <= origin:
                    streams[stream_id] = None
                    unsealed += 1
                    continue
                check = streams[stream_id] = StreamCheck(stream_id, GENESIS, version if stream_id in streams else 1, track_seen=False)
            breaks = check.breaks
            known = len(breaks)
            check.add(version, topic, state, hash_)
            if len(breaks) > known:
                found.extend(_break(b, None if b.kind == "removed" else position) for b in breaks[known:])
        events += len(rows)
        after = rows[-1][0]
        if progress is not None:
            progress(len(rows))
    checkpoints.reached(running, after + 1)
    if checkpoints.upcoming is not None:  # checkpoints past the log's end: its tail was removed
        for checkpoint in checkpoints.checkpoints[checkpoints.next:]:
            report.checkpoint_breaks.append({
                "seq": checkpoint.seq, "position": checkpoint.position, "after_position": after,
                "detail": f"the checkpoint covers position {checkpoint.position} but the log ends at {after}"})
    reported = {(b["stream_id"], b["version"]) for b in found if b["kind"] == "removed"}
    for stream_id, version in records.select_orphan_hashes():
        if (stream_id, version) not in reported:
            found.append(_break(Break(stream_id, version, "removed",
                                      "a hash was recorded for this version at append, but the event is gone"), None))
    report.breaks = found
    report.events, report.streams, report.unsealed_events = events, len(streams), unsealed
    report.seconds = time.perf_counter() - started
    return report
