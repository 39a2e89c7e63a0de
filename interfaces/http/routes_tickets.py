"""Ticket commands and queries: /v1/tickets."""
from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from ledgerdesk.application import commands as c
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.domain.ticket import Ticket

from . import schemas as s
from .access import AccessDep
from .deps import CallerDep, LedgerDep, ReaderDep
from .inputs import Digits, MAX_VERSION
from .moments import AS_OF_READ, MomentDep, aggregate_at
from .problems import problem_responses
from .responses import PlainJSON, command_answer
from .views import ticket_view

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])

# What a command on a ticket can be answered besides its success.
COMMAND_PROBLEMS = problem_responses(400, 403, 404, 409, 413, 422)


def _run(ledger: Ledger, command: Any, status_code: int = 200) -> PlainJSON:
    return command_answer(ledger.execute(command), status_code)


@router.post("", status_code=201, response_model=s.CommandAnswer, summary="Open a ticket",
             responses=problem_responses(400, 403, 404, 409, 413, 422))
def open_ticket(body: s.OpenTicketIn, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    customer = c.CustomerHints(**body.customer.model_dump()) if body.customer else None
    return _run(
        ledger,
        c.OpenTicket(
            caller.context(body.reason),
            subject=body.subject,
            customer_id=body.customer_id,
            customer=customer,
            channel=body.channel,
            priority=body.priority,
            category=body.category,
            tags=tuple(body.tags),
            order_id=body.order_id,
        ),
        status_code=201,
    )


@router.get("/{ticket_id}", response_model=s.TicketOut, summary="A ticket's state: current, or as of an instant or version",
            description=AS_OF_READ, responses=problem_responses(404, 422, 503))
def get_ticket(ticket_id: UUID, caller: ReaderDep, ledger: LedgerDep, moment: MomentDep, access: AccessDep) -> PlainJSON:
    return PlainJSON(aggregate_at(ledger, access, caller.tenant, Ticket, ticket_id, moment, "ticket_id", ticket_view))


@router.get("/{ticket_id}/history", response_model=s.HistoryPage, summary="Every event of a ticket, with audit metadata",
            responses=problem_responses(404, 422, 503))
def get_history(
    ticket_id: UUID,
    caller: ReaderDep,
    ledger: LedgerDep,
    access: AccessDep,
    after_version: Annotated[int, Digits, Query(ge=0, le=MAX_VERSION)] = 0,
    limit: Annotated[int, Digits, Query(ge=1, le=1000)] = 100,
) -> PlainJSON:
    page = ledger.history(caller.tenant, Ticket, ticket_id, after_version, limit, "ticket_id")
    access.record("history", f"ticket/{ticket_id}", {"after_version": after_version, "limit": limit})
    return PlainJSON(page)


@router.post("/{ticket_id}/replies", response_model=s.CommandAnswer, summary="Send a public reply", responses=COMMAND_PROBLEMS)
def reply(ticket_id: UUID, body: s.TextIn, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    ctx = caller.context(body.reason)
    return _run(ledger, c.ReplyToTicket(ctx, ticket_id, text=body.text, expected_version=body.expected_version))


@router.post("/{ticket_id}/notes", response_model=s.CommandAnswer, summary="Add an internal note", responses=COMMAND_PROBLEMS)
def add_note(ticket_id: UUID, body: s.TextIn, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    ctx = caller.context(body.reason)
    return _run(ledger, c.AddInternalNote(ctx, ticket_id, text=body.text, expected_version=body.expected_version))


@router.post("/{ticket_id}/assignment", response_model=s.CommandAnswer, summary="Assign an agent, or transfer to a team", responses=COMMAND_PROBLEMS)
def assign(ticket_id: UUID, body: s.AssignmentIn, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    ctx = caller.context(body.reason)
    command = c.AssignTicket(
        ctx, ticket_id, agent_id=body.agent_id, team_id=body.team_id, expected_version=body.expected_version
    )
    return _run(ledger, command)


@router.delete("/{ticket_id}/assignment", response_model=s.CommandAnswer, summary="Unassign the agent", responses=COMMAND_PROBLEMS)
def unassign(
    ticket_id: UUID,
    caller: CallerDep,
    ledger: LedgerDep,
    expected_version: Annotated[int | None, Digits, Query(ge=1, le=MAX_VERSION)] = None,
    reason: Annotated[str | None, Query(max_length=1000)] = None,
) -> PlainJSON:
    return _run(ledger, c.UnassignTicket(caller.context(reason), ticket_id, expected_version=expected_version))


@router.post("/{ticket_id}/status", response_model=s.CommandAnswer, summary="Change the status", responses=COMMAND_PROBLEMS)
def change_status(ticket_id: UUID, body: s.StatusIn, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    ctx = caller.context(body.reason)
    return _run(ledger, c.ChangeTicketStatus(ctx, ticket_id, status=body.status, expected_version=body.expected_version))


@router.post("/{ticket_id}/priority", response_model=s.CommandAnswer, summary="Change the priority", responses=COMMAND_PROBLEMS)
def change_priority(ticket_id: UUID, body: s.PriorityIn, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    ctx = caller.context(body.reason)
    command = c.ChangeTicketPriority(ctx, ticket_id, priority=body.priority, expected_version=body.expected_version)
    return _run(ledger, command)


@router.post("/{ticket_id}/category", response_model=s.CommandAnswer, summary="Change the category", responses=COMMAND_PROBLEMS)
def categorise(ticket_id: UUID, body: s.CategoryIn, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    ctx = caller.context(body.reason)
    command = c.CategoriseTicket(ctx, ticket_id, category=body.category, expected_version=body.expected_version)
    return _run(ledger, command)


@router.post("/{ticket_id}/tags", response_model=s.CommandAnswer, summary="Add and remove tags", responses=COMMAND_PROBLEMS)
def retag(ticket_id: UUID, body: s.TagsIn, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    ctx = caller.context(body.reason)
    command = c.RetagTicket(ctx, ticket_id, add=tuple(body.add), remove=tuple(body.remove), expected_version=body.expected_version)
    return _run(ledger, command)


@router.post("/{ticket_id}/orders", response_model=s.CommandAnswer, summary="Link an order", responses=COMMAND_PROBLEMS)
def link_order(ticket_id: UUID, body: s.OrderIn, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    ctx = caller.context(body.reason)
    return _run(ledger, c.LinkOrder(ctx, ticket_id, order_id=body.order_id, expected_version=body.expected_version))


@router.post("/{ticket_id}/merge", response_model=s.CommandAnswer, summary="Merge into another ticket", responses=COMMAND_PROBLEMS)
def merge(ticket_id: UUID, body: s.MergeIn, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    ctx = caller.context(body.reason)
    command = c.MergeTicket(ctx, ticket_id, into_ticket_id=body.into_ticket_id, expected_version=body.expected_version)
    return _run(ledger, command)


@router.post("/{ticket_id}/rating", response_model=s.CommandAnswer, summary="Record the customer's CSAT rating", responses=COMMAND_PROBLEMS)
def rate(ticket_id: UUID, body: s.RatingIn, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    ctx = caller.context(body.reason)
    command = c.RateTicket(ctx, ticket_id, score=body.score, comment=body.comment, expected_version=body.expected_version)
    return _run(ledger, command)
