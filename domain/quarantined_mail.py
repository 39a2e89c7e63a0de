"""Mail that could not become a message, kept as evidence instead of dropped (like Zammad's failed-mail store).

A `QuarantinedMail` holds the bytes exactly as a mail gateway delivered them, why they could not
become a message and which header or part was at fault. Its id derives from (tenant, SHA-256 of
the bytes), so the same bytes quarantined twice are one quarantined mail: a second save of it
conflicts in the store. Once a parser can read the bytes, `Released` names the message and ticket
they became, saved in the same call as that message's own events. No I/O.
"""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from .audit import AuditMeta
from .errors import IllegalTransition
from .natural_keys import natural_id

QUARANTINE_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.invalid/quarantined-mail")
# A reason quotes the header at fault, which can be any size and hold anything: it is kept readable.
MAX_REASON = 1000
MAX_FIELD = 64


def _readable(text: str, limit: int) -> str:
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "".join(ch if ch.isprintable() or ch in "\n\t" else "\ufffd" for ch in text)


class QuarantineStatus(StrEnum):
    HELD = "held"
    RELEASED = "released"


class QuarantinedMail(Aggregate):
    class Event(Aggregate.Event):
        meta: AuditMeta

    class Quarantined(Event, Aggregate.Created):
        reason: str
        field: str
        raw_base64: str
        sha256: str
        size: int
        received_at: datetime

    class Released(Event):
        customer_id: UUID
        conversation_id: UUID
        ticket_id: UUID
        message_id: UUID

        def apply(self, mail: QuarantinedMail) -> None:
            mail.released_at = self.timestamp
            mail.released_as = {
                "customer_id": self.customer_id,
                "conversation_id": self.conversation_id,
                "ticket_id": self.ticket_id,
                "message_id": self.message_id,
            }

    def __init__(
        self, meta: AuditMeta, reason: str, field: str, raw_base64: str, sha256: str, size: int, received_at: datetime
    ) -> None:
        self.tenant = meta.tenant
        self.reason = reason
        self.field = field
        self.raw_base64 = raw_base64
        self.sha256 = sha256
        self.size = size
        self.received_at = received_at
        # Where the mail went once released: customer, conversation, ticket and message ids.
        self.released_as: dict[str, UUID] | None = None
        self.released_at: datetime | None = None

    @property
    def status(self) -> QuarantineStatus:
        return QuarantineStatus.HELD if self.released_as is None else QuarantineStatus.RELEASED

    @property
    def raw(self) -> bytes:
        return base64.b64decode(self.raw_base64)

    @staticmethod
    def digest(raw: bytes) -> str:
        return hashlib.sha256(raw).hexdigest()

    @staticmethod
    def id_for(tenant: str, sha256: str) -> UUID:
        return natural_id(QUARANTINE_NAMESPACE, tenant, sha256)

    @classmethod
    def quarantine(
        cls, meta: AuditMeta, at: datetime, raw: bytes, reason: str, field: str, received_at: datetime
    ) -> QuarantinedMail:
        sha256 = cls.digest(raw)
        return cls._create(
            cls.Quarantined,
            id=cls.id_for(meta.tenant, sha256),
            timestamp=at,
            meta=meta,
            reason=_readable(reason, MAX_REASON),
            field=_readable(field, MAX_FIELD),
            raw_base64=base64.b64encode(raw).decode("ascii"),
            sha256=sha256,
            size=len(raw),
            received_at=received_at,
        )

    def require_held(self) -> None:
        if self.released_as is not None:
            raise IllegalTransition(
                f"the mail was already released as message {self.released_as['message_id']} "
                f"on ticket {self.released_as['ticket_id']}",
                field="quarantine_id",
            )

    def release(
        self, meta: AuditMeta, at: datetime, customer_id: UUID, conversation_id: UUID, ticket_id: UUID, message_id: UUID
    ) -> None:
        """The bytes became a message: the mail leaves quarantine, naming where it went."""
        self.require_held()
        self.trigger_event(
            self.Released,
            timestamp=at,
            meta=meta,
            customer_id=customer_id,
            conversation_id=conversation_id,
            ticket_id=ticket_id,
            message_id=message_id,
        )
