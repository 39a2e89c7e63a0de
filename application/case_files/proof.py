"""A case file's proof: each stream's events exactly as stored, with the hashes recorded for them
when they were appended (application/event_hashes.py), the head, and the checkpoint that covers it.

The export also checks each stream against the database (`Ledger.verify_stream`) and says so: a
proof is the chain as recorded, verified where it was kept. Offline, `audit verify-file` recomputes
each chain from the stored states (domain/event_chain) and compares it with the recorded hashes and
heads, so a file edited after export no longer hashes to them; whoever holds the file can then
compare a head, or the covering checkpoint, with the shop's log (`audit verify`, `/v1/audit/verify`).
Events appended before chaining began carry no hash: shown, counted as unsealed, not provable.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledgerdesk.domain.event_chain import ALGORITHM, GENESIS, event_hash


def stream_proof(ledger: Any, stream_id: UUID, up_to_version: int, stored: Sequence[StoredEvent] | None = None) -> dict[str, Any]:
    """`{"stream_id", "events": [{"version", "topic", "state", "hash"}], "head_version", "head_hash",
    "checkpoint", "unsealed_events", "verified_at_export", "breaks"}`.

    `stored` is the stream as the case read it: the proof must hold exactly those events."""
    recorded = ledger.stream_proof(stream_id, up_to_version)
    listed = [{"version": e["version"], "topic": e["topic"], "state": e["state"], "hash": e["hash"]} for e in recorded["events"]]
    if stored is not None and [e["version"] for e in listed] != [s.originator_version for s in stored
                                                                  if s.originator_version <= up_to_version]:
        raise RuntimeError(f"stream {stream_id} changed while its case was built; build it again")
    verdict = ledger.verify_stream(stream_id)
    return {
        "stream_id": str(stream_id),
        "events": listed,
        "head_version": listed[-1]["version"] if listed else None,
        "head_hash": recorded["head_hash"],
        "checkpoint": recorded["checkpoint"],
        "unsealed_events": recorded["unsealed_events"],
        "verified_at_export": verdict["verified"],
        "breaks": verdict["breaks"],
    }


def chained_proof(stream_id: UUID, stored: Sequence[StoredEvent]) -> dict[str, Any]:
    """The proof a stream's events would have had every hash been recorded at their append (from
    GENESIS, as the recorders chain): for tests and tools that hold events but no store."""
    prev, listed = GENESIS, []
    for event in stored:
        prev = event_hash(prev, str(stream_id), event.originator_version, event.topic, bytes(event.state))
        listed.append({"version": event.originator_version, "topic": event.topic, "state": bytes(event.state).decode("utf-8"),
                       "hash": prev})
    return {"stream_id": str(stream_id), "events": listed, "head_version": listed[-1]["version"] if listed else None,
            "head_hash": prev if listed else None, "checkpoint": None, "unsealed_events": 0}


def case_digest(streams: Iterable[Mapping[str, Any]]) -> str:
    """One hash naming every stream's head: printed on the document, so paper and file can be matched."""
    heads = sorted(f"{s['stream_id']} {s['head_version']} {s['head_hash']}" for s in streams)
    return hashlib.sha256(f"{ALGORITHM}\n".encode() + "\n".join(heads).encode()).hexdigest()


def proof_section(streams: list[dict[str, Any]]) -> dict[str, Any]:
    return {"algorithm": ALGORITHM, "genesis": GENESIS, "streams": streams, "digest": case_digest(streams)}
