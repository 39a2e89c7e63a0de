"""A stored event as read models see it: its log position, type, aggregate, time, tenant and plain data.

Built straight from the stored JSON, once per event per batch, and shared by every read model.
Text is made storable on the way (text.storable_json): a NUL that reached the log becomes
U+FFFD in every read model, on both backends alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import Notification, StoredEvent

from ledgerdesk.application.event_views import event_type, flatten

from .text import storable_json


@dataclass(frozen=True, slots=True)
class EventRecord:
    position: int
    type: str  # "Ticket.Opened"
    aggregate_id: str
    version: int
    occurred_at: datetime
    tenant: str
    actor_kind: str
    actor_id: str
    data: dict[str, Any]

    @classmethod
    def from_notification(cls, notification: Notification) -> EventRecord:
        return cls.from_stored(notification, notification.id)

    @classmethod
    def from_stored(cls, stored: StoredEvent, position: int) -> EventRecord:
        """An aggregate's stored event read outside the log's order (as-of reads): `position` is the caller's."""
        state = orjson.loads(storable_json(stored.state))
        # The envelope has a fixed shape: unwrap it directly rather than walking it.
        meta = state.pop("meta")["_data_"]
        timestamp = state.pop("timestamp")["_data_"]
        state.pop("originator_topic", None)
        state.pop("class_version", None)  # the shape's version (README, "Changing an event"), not data
        for name, value in state.items():
            if value.__class__ is dict or value.__class__ is list:
                state[name] = flatten(value)
        return cls(
            position=position,
            type=event_type(stored.topic),
            aggregate_id=str(stored.originator_id),
            version=stored.originator_version,
            occurred_at=datetime.fromisoformat(timestamp),
            tenant=meta["tenant"],
            actor_kind=meta["actor_kind"],
            actor_id=meta["actor_id"],
            data=state,
        )
