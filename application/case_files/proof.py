"""A case file's proof: each stream's events exactly as stored, chained by hash, and the heads.

`stream_proof` is the seam for the recorded hashes ([audit], branch `chain`): there, each event's
hash is written at append (`event_hashes`) and checkpoints cover the log; `Ledger.stream_proof`
answers the same shape with the hashes as recorded and the covering checkpoint. Until that is
merged, the hashes here are recomputed from the stored events (domain/event_chain), so a proof
shows that the file is consistent with itself and with the database it came from at export, but
no checkpoint anchors it yet: `checkpoint` is None.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledgerdesk.domain.event_chain import ALGORITHM, GENESIS, event_hash


def stream_proof(ledger: Any, stream_id: UUID, up_to_version: int, stored: Sequence[StoredEvent] | None = None) -> dict[str, Any]:
    """`{"stream_id", "events": [{"version", "topic", "state", "hash"}], "head_version", "head_hash", "checkpoint"}`.

    `stored`, when the caller has read the stream already, saves reading it again.
    TODO([audit] chain): replace the body with `ledger.stream_proof(stream_id, up_to_version)`,
    which answers these keys with the hashes recorded at append and the covering checkpoint.
    """
    events = stored if stored is not None else ledger.recorder.select_events(stream_id, lte=up_to_version)
    prev, listed = GENESIS, []
    for event in events:
        if event.originator_version > up_to_version:
            break
        prev = event_hash(prev, str(stream_id), event.originator_version, event.topic, bytes(event.state))
        listed.append({"version": event.originator_version, "topic": event.topic,
                       "state": bytes(event.state).decode("utf-8"), "hash": prev})
    return {
        "stream_id": str(stream_id),
        "events": listed,
        "head_version": listed[-1]["version"] if listed else None,
        "head_hash": listed[-1]["hash"] if listed else None,
        "checkpoint": None,
    }


def case_digest(streams: Iterable[Mapping[str, Any]]) -> str:
    """One hash naming every stream's head: printed on the document, so paper and file can be matched."""
    heads = sorted(f"{s['stream_id']} {s['head_version']} {s['head_hash']}" for s in streams)
    return hashlib.sha256(f"{ALGORITHM}\n".encode() + "\n".join(heads).encode()).hexdigest()


def proof_section(streams: list[dict[str, Any]]) -> dict[str, Any]:
    return {"algorithm": ALGORITHM, "genesis": GENESIS, "streams": streams, "digest": case_digest(streams)}
