"""Agents' work queues from the inbox read model: /v1/inbox and /v1/inbox/counts.

Read models follow the log, so a ticket changed a moment ago may show its former state for a
moment. SLA states are judged at the runtime's clock at the time of the request.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.ticket_values import Category, Priority, TicketStatus
from ledgerdesk.projections.inbox import queries as inbox_queries
from ledgerdesk.projections.store import ReadStore

from .inputs import Digits
from .deps import ClockDep, ReaderDep, read_model
from .problems import problem_responses
from .responses import PlainJSON

router = APIRouter(prefix="/v1/inbox", tags=["inbox"])

InboxStore = Annotated[ReadStore, read_model("inbox")]


class TicketSlaSummary(BaseModel):
    policy_id: str | None
    policy_version: int | None
    state: str | None  # active, paused or breached; None when no clock counts
    next_due_at: str | None
    breached: bool
    warning: bool


class InboxItem(BaseModel):
    ticket_id: str
    customer_id: str
    subject: str
    channel: Channel
    language: str | None
    status: TicketStatus
    priority: Priority
    category: Category | None
    assignee: str | None
    team: str | None
    tags: list[str]
    opened_at: str
    updated_at: str
    last_customer_message_at: str | None
    reply_count: int
    sla: TicketSlaSummary


class InboxPage(BaseModel):
    items: list[InboxItem]
    next_cursor: str | None


class InboxCounts(BaseModel):
    all: int
    unassigned: int
    agents: dict[str, int]
    teams: dict[str, int]
    by_status: dict[str, int]
    breached: int


Values = Annotated[list[str] | None, Query(max_length=inbox_queries.MAX_FILTER_VALUES)]


@router.get(
    "",
    response_model=InboxPage,
    responses=problem_responses(422),
    summary="A work queue: unsolved tickets, most urgent SLA due first",
    description="`view` is `all` (default), `unassigned`, `agent:<agent id>` or `team:<team id>`. "
    "Each filter may repeat (`status=open&status=pending`): values of one filter are alternatives, "
    "filters combine. `status` defaults to the unsolved statuses new, open, pending and on_hold. "
    "Tickets come by most urgent SLA due time, then priority, then age, then id. Pass `next_cursor` "
    "back as `cursor` for the next page; it is null on the last page.",
)
def list_inbox(
    caller: ReaderDep,
    clock: ClockDep,
    store: InboxStore,
    view: Annotated[str, Query(max_length=200)] = "all",
    status: Values = None,
    priority: Values = None,
    channel: Values = None,
    language: Values = None,
    category: Values = None,
    tag: Values = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Digits, Query(ge=1, le=inbox_queries.MAX_LIMIT)] = inbox_queries.DEFAULT_LIMIT,
) -> PlainJSON:
    filters = {"status": status, "priority": priority, "channel": channel, "language": language, "category": category, "tag": tag}
    page = inbox_queries.inbox(
        store, caller.tenant, view, filters, cursor, limit, now=clock()
    )
    return PlainJSON(page)


@router.get(
    "/counts",
    response_model=InboxCounts,
    responses=problem_responses(422),
    summary="How many unsolved tickets each view holds",
    description='`{"all", "unassigned", "agents": {agent: n}, "teams": {team: n}, "by_status": {status: n}, '
    '"breached"}`; breached counts tickets with an SLA target missed by now.',
)
def inbox_counts(caller: ReaderDep, clock: ClockDep, store: InboxStore) -> PlainJSON:
    return PlainJSON(inbox_queries.counts(store, caller.tenant, now=clock()))
