"""Receipts that make retried commands and redelivered webhooks append nothing.

Each receipt's id derives from its natural key (tenant first: natural_keys.py), so saving a
second receipt for the same key in the same call as the command's other events makes the
whole save conflict: the store refuses the duplicate and nothing of the retried command is
half applied.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from .audit import AuditMeta
from .channel import Channel
from .natural_keys import natural_id

COMMAND_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.invalid/command-receipts")
MESSAGE_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.invalid/message-receipts")


class CommandReceipt(Aggregate):
    """A command id was handled: what it asked (a fingerprint) and what it answered."""

    class Event(Aggregate.Event):
        meta: AuditMeta

    class CommandHandled(Event, Aggregate.Created):
        command_type: str
        fingerprint: str
        result: dict[str, Any]

    def __init__(self, meta: AuditMeta, command_type: str, fingerprint: str, result: dict[str, Any]) -> None:
        self.tenant = meta.tenant
        self.command_type = command_type
        self.fingerprint = fingerprint
        self.result = result

    @staticmethod
    def id_for(tenant: str, command_id: str) -> UUID:
        return natural_id(COMMAND_NAMESPACE, tenant, command_id)

    @classmethod
    def record(
        cls, meta: AuditMeta, at: datetime, command_type: str, fingerprint: str, result: dict[str, Any]
    ) -> CommandReceipt:
        return cls._create(
            cls.CommandHandled,
            id=cls.id_for(meta.tenant, meta.command_id),
            timestamp=at,
            meta=meta,
            command_type=command_type,
            fingerprint=fingerprint,
            result=result,
        )


class MessageReceipt(Aggregate):
    """A channel's message (channel, external message id) was taken in, and where it went."""

    class Event(Aggregate.Event):
        meta: AuditMeta

    class MessageTakenIn(Event, Aggregate.Created):
        customer_id: UUID
        conversation_id: UUID
        ticket_id: UUID
        message_id: UUID

    def __init__(self, meta: AuditMeta, customer_id: UUID, conversation_id: UUID, ticket_id: UUID, message_id: UUID):
        self.tenant = meta.tenant
        self.customer_id = customer_id
        self.conversation_id = conversation_id
        self.ticket_id = ticket_id
        self.message_id = message_id

    @staticmethod
    def id_for(tenant: str, channel: Channel, external_message_id: str) -> UUID:
        return natural_id(MESSAGE_NAMESPACE, tenant, str(channel), external_message_id)

    @classmethod
    def record(
        cls,
        meta: AuditMeta,
        at: datetime,
        channel: Channel,
        external_message_id: str,
        customer_id: UUID,
        conversation_id: UUID,
        ticket_id: UUID,
        message_id: UUID,
    ) -> MessageReceipt:
        return cls._create(
            cls.MessageTakenIn,
            id=cls.id_for(meta.tenant, channel, external_message_id),
            timestamp=at,
            meta=meta,
            customer_id=customer_id,
            conversation_id=conversation_id,
            ticket_id=ticket_id,
            message_id=message_id,
        )
