"""Stored events as plain, JSON-ready records for auditors and integrators."""
from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol

from ledgerdesk.domain.audit import event_id

_ENVELOPE = {"originator_id", "originator_version", "timestamp", "meta", "originator_topic"}


def plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (UUID,)):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def event_type(event: DomainEventProtocol) -> str:
    """`Ticket.ReplySent`: the aggregate and the business fact."""
    return type(event).__qualname__


def describe(event: DomainEventProtocol, position: int | None = None) -> dict[str, Any]:
    meta = event.meta  # type: ignore[attr-defined]
    record: dict[str, Any] = {
        "id": str(event_id(event.originator_id, event.originator_version)),
        "type": event_type(event),
        "aggregate_id": str(event.originator_id),
        "version": event.originator_version,
        "occurred_at": event.timestamp.isoformat(),
        "tenant": meta.tenant,
        "actor": {"kind": str(meta.actor.kind), "id": meta.actor.id},
        "command_id": meta.command_id,
        "correlation_id": meta.correlation_id,
        "causation_id": meta.causation_id,
        "reason": meta.reason,
        "data": {k: plain(v) for k, v in event.__dict__.items() if k not in _ENVELOPE},
    }
    if position is not None:
        record["position"] = position
    return record
