"""One handler per ticket or conversation command. Each loads what it needs, asks the aggregates, and answers."""
from __future__ import annotations

from typing import Any

from ledgerdesk.domain.conversation import Conversation
from ledgerdesk.domain.customer import Customer
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.domain.ticket_values import higher_priority

from . import commands as c
from .access_log import ACCESS_LOG_HANDLERS
from .agent_handlers import AGENT_HANDLERS
from .team_handlers import TEAM_HANDLERS
from .customer_resolution import identities_from_hints, resolve_customer
from .mail_quarantine import QUARANTINE_HANDLERS
from .escalate_ticket import escalate_ticket
from .route_ticket import queue_ticket, reclaim_ticket, retake_ticket, route_ticket
from .sla_policy_handlers import SLA_POLICY_HANDLERS
from .triage_rules_handlers import TRIAGE_RULES_HANDLERS
from ledgerdesk.domain.errors import InvalidValue
from .ports import LanguageDetector, no_language_detection
from .unit_of_work import UnitOfWork


def _ticket(uow: UnitOfWork, cmd: c.TicketCommand) -> Ticket:
    return uow.get(Ticket, cmd.ticket_id, field="ticket_id", expected_version=cmd.expected_version)


def _answer(ticket: Ticket, **extra: Any) -> dict[str, Any]:
    return {"ticket_id": str(ticket.id), "version": ticket.version, **extra}


def open_ticket(
    uow: UnitOfWork, cmd: c.OpenTicket, default_phone_region: str | None, detect_language: LanguageDetector = no_language_detection
) -> dict[str, Any]:
    if cmd.customer_id is not None:
        customer = uow.get(Customer, cmd.customer_id, field="customer_id")
    else:
        identities = identities_from_hints(cmd.customer or c.CustomerHints(), default_phone_region)
        if not identities:
            raise InvalidValue("give a customer_id, or a customer with an email or phone", field="customer")
        customer = resolve_customer(uow, identities, cmd.customer or c.CustomerHints())
    ticket = Ticket.open(
        uow.meta, uow.at, customer.id, cmd.subject, cmd.channel, cmd.priority, cmd.category, language=detect_language(cmd.subject)
    )
    uow.add(ticket)
    if cmd.tags:
        ticket.retag(uow.meta, uow.at, list(cmd.tags), [])
    if cmd.order_id:
        ticket.link_order(uow.meta, uow.at, cmd.order_id)
    return _answer(ticket, customer_id=str(customer.id))


def reply_to_ticket(uow: UnitOfWork, cmd: c.ReplyToTicket) -> dict[str, Any]:
    ticket = _ticket(uow, cmd)
    conversation = (
        uow.get(Conversation, ticket.last_conversation_id, field="ticket_id") if ticket.last_conversation_id else None
    )
    message_id = conversation.send(uow.meta, uow.at, cmd.text) if conversation else None
    message_id = ticket.reply(uow.meta, uow.at, cmd.text, message_id)
    return _answer(ticket, message_id=str(message_id))


def add_internal_note(uow: UnitOfWork, cmd: c.AddInternalNote) -> dict[str, Any]:
    ticket = _ticket(uow, cmd)
    note_id = ticket.add_note(uow.meta, uow.at, cmd.text)
    if ticket.last_conversation_id:
        conversation = uow.get(Conversation, ticket.last_conversation_id, field="ticket_id")
        conversation.add_note(uow.meta, uow.at, cmd.text, note_id)
    return _answer(ticket, note_id=str(note_id))


def assign_ticket(uow: UnitOfWork, cmd: c.AssignTicket) -> dict[str, Any]:
    ticket = _ticket(uow, cmd)
    ticket.assign(uow.meta, uow.at, cmd.agent_id, cmd.team_id)
    return _answer(ticket)


def unassign_ticket(uow: UnitOfWork, cmd: c.UnassignTicket) -> dict[str, Any]:
    ticket = _ticket(uow, cmd)
    ticket.unassign(uow.meta, uow.at)
    return _answer(ticket)


def change_ticket_status(uow: UnitOfWork, cmd: c.ChangeTicketStatus) -> dict[str, Any]:
    ticket = _ticket(uow, cmd)
    ticket.change_status(uow.meta, uow.at, cmd.status)
    return _answer(ticket, status=str(ticket.status))


def change_ticket_priority(uow: UnitOfWork, cmd: c.ChangeTicketPriority) -> dict[str, Any]:
    ticket = _ticket(uow, cmd)
    ticket.change_priority(uow.meta, uow.at, cmd.priority)
    return _answer(ticket, priority=str(ticket.priority))


def categorise_ticket(uow: UnitOfWork, cmd: c.CategoriseTicket) -> dict[str, Any]:
    ticket = _ticket(uow, cmd)
    ticket.categorise(uow.meta, uow.at, cmd.category)
    return _answer(ticket, category=str(ticket.category))


def triage_ticket(uow: UnitOfWork, cmd: c.TriageTicket) -> dict[str, Any]:
    ticket = _ticket(uow, cmd)
    if cmd.category is not None and ticket.category is None:
        ticket.categorise(uow.meta, uow.at, cmd.category)
    ticket.change_priority(uow.meta, uow.at, higher_priority(ticket.priority, cmd.priority))
    return _answer(ticket, category=ticket.category and str(ticket.category), priority=str(ticket.priority))


def retag_ticket(uow: UnitOfWork, cmd: c.RetagTicket) -> dict[str, Any]:
    ticket = _ticket(uow, cmd)
    ticket.retag(uow.meta, uow.at, list(cmd.add), list(cmd.remove))
    return _answer(ticket, tags=list(ticket.tags))


def link_order(uow: UnitOfWork, cmd: c.LinkOrder) -> dict[str, Any]:
    ticket = _ticket(uow, cmd)
    ticket.link_order(uow.meta, uow.at, cmd.order_id)
    return _answer(ticket, order_ids=list(ticket.order_ids))


def merge_ticket(uow: UnitOfWork, cmd: c.MergeTicket) -> dict[str, Any]:
    source = _ticket(uow, cmd)
    target = uow.get(Ticket, cmd.into_ticket_id, field="into_ticket_id")
    source.merge_into(uow.meta, uow.at, target)
    # The source's threads now feed the target, so a customer's next message lands there.
    for conversation_id in source.conversation_ids:
        conversation = uow.get(Conversation, conversation_id, field="ticket_id")
        conversation.link_ticket(uow.meta.caused_by(source.last_event_id), uow.at, target.id)
    return _answer(source, into_ticket_id=str(target.id), into_version=target.version)


def rate_ticket(uow: UnitOfWork, cmd: c.RateTicket) -> dict[str, Any]:
    ticket = _ticket(uow, cmd)
    ticket.rate(uow.meta, uow.at, cmd.score, cmd.comment)
    return _answer(ticket)


def close_conversation(uow: UnitOfWork, cmd: c.CloseConversation) -> dict[str, Any]:
    conversation = uow.get(Conversation, cmd.conversation_id, field="conversation_id", expected_version=cmd.expected_version)
    conversation.close(uow.meta, uow.at)
    return {"conversation_id": str(conversation.id), "version": conversation.version, "closed": conversation.closed}


COMMAND_HANDLERS = {
    c.CloseConversation: close_conversation,
    c.ReplyToTicket: reply_to_ticket,
    c.AddInternalNote: add_internal_note,
    c.AssignTicket: assign_ticket,
    c.UnassignTicket: unassign_ticket,
    c.ChangeTicketStatus: change_ticket_status,
    c.ChangeTicketPriority: change_ticket_priority,
    c.CategoriseTicket: categorise_ticket,
    c.TriageTicket: triage_ticket,
    c.RouteTicket: route_ticket,
    c.ReclaimTicket: reclaim_ticket,
    c.QueueTicket: queue_ticket,
    c.RetakeTicket: retake_ticket,
    c.EscalateTicket: escalate_ticket,
    c.RetagTicket: retag_ticket,
    c.LinkOrder: link_order,
    c.MergeTicket: merge_ticket,
    c.RateTicket: rate_ticket,
    **SLA_POLICY_HANDLERS,
    **QUARANTINE_HANDLERS,
    **AGENT_HANDLERS,
    **TEAM_HANDLERS,
    **TRIAGE_RULES_HANDLERS,
    **ACCESS_LOG_HANDLERS,
}
