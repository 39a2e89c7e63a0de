"""How quarantine events change the mail quarantine read model.

Every value comes from the events (times are the events' own), so a rebuild writes the same rows.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ledgerdesk.domain.quarantined_mail import QuarantineStatus

from ..event_record import EventRecord
from ..instants import utc
from ..read_model import Batch, ReadModel
from .tables import quarantined_mail

HELD = QuarantineStatus.HELD.value
RELEASED = QuarantineStatus.RELEASED.value


class MailQuarantine(ReadModel):
    name = "quarantine"
    tables = (quarantined_mail,)
    event_types = frozenset({"QuarantinedMail.Quarantined", "QuarantinedMail.Released"})

    def apply(self, batch: Batch, event: EventRecord) -> None:
        if event.type == "QuarantinedMail.Quarantined":
            self._quarantined(batch, event, event.data)
        else:
            self._released(batch, event, event.data)

    @staticmethod
    def _quarantined(batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        batch.table(quarantined_mail).put(
            {
                "quarantine_id": event.aggregate_id,
                "tenant": event.tenant,
                "position": event.position,
                "quarantined_at": utc(event.occurred_at),
                "received_at": utc(datetime.fromisoformat(data["received_at"])),
                "reason": data["reason"],
                "field": data["field"],
                "size": data["size"],
                "sha256": data["sha256"],
                "status": HELD,
                "released_at": None,
                "customer_id": None,
                "conversation_id": None,
                "ticket_id": None,
                "message_id": None,
            }
        )

    @staticmethod
    def _released(batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        table = batch.table(quarantined_mail)
        row = table.get(quarantine_id=event.aggregate_id)
        if row is None:
            return
        row.update(
            status=RELEASED,
            released_at=utc(event.occurred_at),
            customer_id=data["customer_id"],
            conversation_id=data["conversation_id"],
            ticket_id=data["ticket_id"],
            message_id=data["message_id"],
        )
        table.put(row)
