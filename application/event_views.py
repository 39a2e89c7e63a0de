"""Stored events as plain, JSON-ready records for auditors and integrators.

Histories and feeds are read in bulk, so records are made straight from the stored JSON
(the transcoder's `{"_type_", "_data_"}` values flattened to plain JSON) without building
domain event objects first.
"""
from __future__ import annotations

import hashlib
from typing import Any

import orjson
from eventsourcing.persistence import StoredEvent

from ledgerdesk.domain.audit import EVENT_ID_NAMESPACE

# class_version: which shape of the event was stored (README, "Changing an event"), not data.
_ENVELOPE = ("timestamp", "meta", "originator_topic", "class_version")


def _dashed(hex_uuid: str) -> str:
    return f"{hex_uuid[:8]}-{hex_uuid[8:12]}-{hex_uuid[12:16]}-{hex_uuid[16:20]}-{hex_uuid[20:]}"


_PLAIN = {"uuid_hex": _dashed, "datetime_iso": str, "decimal_str": str}


def flatten(value: Any) -> Any:
    """A transcoded value (`{"_type_": ..., "_data_": ...}`) becomes its plain JSON form, at any depth."""
    if isinstance(value, dict):
        if "_type_" in value and "_data_" in value and len(value) == 2:
            return _PLAIN.get(value["_type_"], flatten)(value["_data_"])
        return {k: flatten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [flatten(v) for v in value]
    return value


_NAMESPACE = EVENT_ID_NAMESPACE.bytes


def event_id_text(aggregate_id: str, version: int) -> str:
    """`str(domain.audit.event_id(...))` without building UUID objects: histories list hundreds."""
    digest = bytearray(hashlib.sha1(_NAMESPACE + f"{aggregate_id}:{version}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return _dashed(digest.hex())


def event_type(topic: str) -> str:
    """`Ticket.ReplySent`: the aggregate and the business fact."""
    return topic.rpartition(":")[2]


def describe(stored: StoredEvent, position: int | None = None) -> dict[str, Any]:
    state = flatten(orjson.loads(stored.state))
    meta = state["meta"]
    aggregate_id = str(stored.originator_id)
    record: dict[str, Any] = {
        "id": event_id_text(aggregate_id, stored.originator_version),
        "type": event_type(stored.topic),
        "aggregate_id": aggregate_id,
        "version": stored.originator_version,
        "occurred_at": state["timestamp"],
        "tenant": meta["tenant"],
        "actor": {"kind": meta["actor_kind"], "id": meta["actor_id"]},
        "command_id": meta["command_id"],
        "correlation_id": meta["correlation_id"],
        "causation_id": meta["causation_id"],
        "reason": meta["reason"],
        "decision": meta.get("decision"),
        "data": {k: v for k, v in state.items() if k not in _ENVELOPE},
    }
    if position is not None:
        record["position"] = position
    return record
