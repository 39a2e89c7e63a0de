"""The Conversation aggregate: one thread on one channel, as the channel sees it.

The id derives from (tenant, channel, external thread id), so a channel's thread always
maps to the same conversation and two first messages of a thread conflict on save.
Message texts live in these events; the aggregate keeps only what decisions need.
"""
from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate

from .audit import Actor, AuditMeta
from .channel import Channel
from .errors import IllegalTransition, InvalidValue
from .message import Attachment, checked_text
from .natural_keys import natural_id

CONVERSATION_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.invalid/conversations")


class Conversation(Aggregate):
    class Event(Aggregate.Event):
        meta: AuditMeta

    class Started(Event, Aggregate.Created):
        channel: Channel
        external_thread_id: str
        customer_id: UUID

    class InboundMessageReceived(Event):
        message_id: UUID
        external_message_id: str
        text: str
        sent_at: datetime
        attachments: list[Attachment]
        order_id: str | None

        def apply(self, conversation: Conversation) -> None:
            conversation.inbound_count += 1
            conversation.last_inbound_at = self.sent_at
            conversation.closed = False

    class OutboundMessageSent(Event):
        message_id: UUID
        author: Actor
        text: str

        def apply(self, conversation: Conversation) -> None:
            conversation.outbound_count += 1

    class InternalNoteAdded(Event):
        note_id: UUID
        author: Actor
        text: str

        def apply(self, conversation: Conversation) -> None:
            pass

    class LinkedToTicket(Event):
        ticket_id: UUID

        def apply(self, conversation: Conversation) -> None:
            conversation.ticket_id = self.ticket_id

    class Closed(Event):
        def apply(self, conversation: Conversation) -> None:
            conversation.closed = True

    def __init__(self, meta: AuditMeta, channel: Channel, external_thread_id: str, customer_id: UUID) -> None:
        self.tenant = meta.tenant
        self.channel = Channel(channel)
        self.external_thread_id = external_thread_id
        self.customer_id = customer_id
        self.ticket_id: UUID | None = None
        self.inbound_count = 0
        self.outbound_count = 0
        self.last_inbound_at: datetime | None = None
        self.closed = False

    @staticmethod
    def id_for(tenant: str, channel: Channel, external_thread_id: str) -> UUID:
        return natural_id(CONVERSATION_NAMESPACE, tenant, str(channel), external_thread_id)

    @classmethod
    def start(cls, meta: AuditMeta, at: datetime, channel: Channel, external_thread_id: str, customer_id: UUID) -> Conversation:
        thread = external_thread_id.strip()
        if not thread or len(thread) > 512:
            raise InvalidValue("an external thread id has 1 to 512 characters", field="external_thread_id")
        return cls._create(
            cls.Started,
            id=cls.id_for(meta.tenant, channel, thread),
            timestamp=at,
            meta=meta,
            channel=Channel(channel),
            external_thread_id=thread,
            customer_id=customer_id,
        )

    def _require_open(self) -> None:
        if self.closed:
            raise IllegalTransition("the conversation is closed", field="conversation_id")

    def receive(
        self,
        meta: AuditMeta,
        at: datetime,
        external_message_id: str,
        text: str,
        sent_at: datetime,
        attachments: list[Attachment],
        order_id: str | None,
    ) -> UUID:
        """Records a customer's message; a closed thread that hears from its customer opens again."""
        message_id = uuid4()
        self.trigger_event(
            self.InboundMessageReceived,
            timestamp=at,
            meta=meta,
            message_id=message_id,
            external_message_id=external_message_id,
            text=checked_text(text, allow_empty=bool(attachments)),
            sent_at=sent_at,
            attachments=list(attachments),
            order_id=order_id,
        )
        return message_id

    def send(self, meta: AuditMeta, at: datetime, text: str) -> UUID:
        self._require_open()
        message_id = uuid4()
        self.trigger_event(
            self.OutboundMessageSent, timestamp=at, meta=meta, message_id=message_id, author=meta.actor, text=checked_text(text)
        )
        return message_id

    def add_note(self, meta: AuditMeta, at: datetime, text: str, note_id: UUID) -> None:
        self.trigger_event(self.InternalNoteAdded, timestamp=at, meta=meta, note_id=note_id, author=meta.actor, text=checked_text(text))

    def link_ticket(self, meta: AuditMeta, at: datetime, ticket_id: UUID) -> None:
        if self.ticket_id != ticket_id:
            self.trigger_event(self.LinkedToTicket, timestamp=at, meta=meta, ticket_id=ticket_id)

    def close(self, meta: AuditMeta, at: datetime) -> None:
        if not self.closed:
            self.trigger_event(self.Closed, timestamp=at, meta=meta)
