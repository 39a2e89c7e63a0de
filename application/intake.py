"""Intake: one normalised message from any channel becomes customer, conversation and ticket events."""
from __future__ import annotations

from typing import Any

from ledgerdesk.domain.audit import event_id
from ledgerdesk.domain.conversation import Conversation
from ledgerdesk.domain.identity import Identity
from ledgerdesk.domain.receipts import MessageReceipt
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.domain.ticket_values import TicketStatus, checked_order_id

from .ports import LanguageDetector, no_language_detection
from .commands import ReceiveInboundMessage
from .customer_resolution import identities_from_hints, resolve_customer
from .unit_of_work import UnitOfWork

SUBJECT_LENGTH = 80


def subject_from(text: str, fallback: str) -> str:
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first_line:
        return fallback
    return first_line if len(first_line) <= SUBJECT_LENGTH else first_line[: SUBJECT_LENGTH - 1] + "…"


def receive_inbound_message(
    uow: UnitOfWork, cmd: ReceiveInboundMessage, default_phone_region: str | None, detect_language: LanguageDetector = no_language_detection
) -> dict[str, Any]:
    external_message_id = cmd.external_message_id.strip()
    order_id = checked_order_id(cmd.order_id) if cmd.order_id is not None else None
    identities = [Identity.channel_user(cmd.channel, cmd.external_user_id)]
    identities += identities_from_hints(cmd.customer, default_phone_region)
    customer = resolve_customer(uow, identities, cmd.customer)

    conversation = uow.find(Conversation, Conversation.id_for(uow.tenant, cmd.channel, cmd.external_thread_id.strip()))
    if conversation is None:
        conversation = Conversation.start(uow.meta, uow.at, cmd.channel, cmd.external_thread_id, customer.id)
        uow.add(conversation)
    message_id = conversation.receive(
        uow.meta, uow.at, external_message_id, cmd.text, cmd.sent_at, list(cmd.attachments), order_id
    )
    because_received = uow.meta.caused_by(event_id(conversation.id, conversation.version))

    ticket = uow.find(Ticket, conversation.ticket_id) if conversation.ticket_id else None
    if ticket is None or ticket.status is TicketStatus.CLOSED or ticket.merged_into is not None:
        # A closed case stays closed: the customer's new message starts a follow-up ticket.
        ticket = Ticket.open(
            because_received,
            uow.at,
            customer.id,
            cmd.subject or subject_from(cmd.text, f"Message on {cmd.channel}"),
            cmd.channel,
            language=detect_language(cmd.text),
        )
        uow.add(ticket)
        conversation.link_ticket(because_received, uow.at, ticket.id)
    ticket.add_customer_message(because_received, uow.at, conversation.id, message_id, cmd.channel, cmd.text, cmd.sent_at)
    if order_id is not None:
        ticket.link_order(because_received, uow.at, order_id)

    receipt = MessageReceipt.record(
        uow.meta, uow.at, cmd.channel, external_message_id, customer.id, conversation.id, ticket.id, message_id
    )
    uow.add(receipt)
    return intake_answer(receipt, duplicate=False)


def intake_answer(receipt: MessageReceipt, *, duplicate: bool) -> dict[str, Any]:
    """Where a message went: the same answer for its first delivery and every redelivery."""
    return {
        "customer_id": str(receipt.customer_id),
        "conversation_id": str(receipt.conversation_id),
        "ticket_id": str(receipt.ticket_id),
        "message_id": str(receipt.message_id),
        "duplicate": duplicate,
    }
