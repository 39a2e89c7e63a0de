"""SLA from the inbox read model: a ticket's clocks (/v1/tickets/{id}/sla) and the tenant's
active policies (/v1/sla-policies; defining and changing them is /v1/sla-policies' commands).

Read models follow the log, so a change made a moment ago may not show yet. Clocks are judged
at the runtime's clock at the time of the request; with `as_of`, replayed from the log
(projections/sla/as_of.py) and judged at that instant.
"""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ledgerdesk.application.errors import NotFound
from ledgerdesk.projections.sla import queries as sla_queries
from ledgerdesk.projections.sla.as_of import ticket_sla_as_of

from .access import AccessDep
from .deps import ClockDep, LedgerDep, ReaderDep
from .moments import InstantDep
from .problems import problem_responses
from .responses import PlainJSON
from .routes_inbox import InboxStore
from .sla_policy_schemas import SlaPolicyOut

router = APIRouter(prefix="/v1", tags=["sla"])


class MeasuredUnder(BaseModel):
    id: str
    version: int | None
    name: str | None


class ClockView(BaseModel):
    metric: str
    cycle: int
    target_seconds: int
    state: str  # active, paused, fulfilled or breached, as of now
    elapsed_seconds: float
    started_at: str | None
    stopped_at: str | None
    due_at: str | None
    warning_at: str | None
    warning_reached: bool
    breached_at: str | None


class TicketSlaOut(BaseModel):
    ticket_id: str
    policy: MeasuredUnder | None
    clocks: list[ClockView]
    as_of: str | None = Field(default=None, description="only with `?as_of=`: the instant the clocks were replayed to "
                              "and judged at")


class SlaPolicyList(BaseModel):
    items: list[SlaPolicyOut]


@router.get(
    "/tickets/{ticket_id}/sla",
    response_model=TicketSlaOut,
    responses=problem_responses(404, 422, 503),
    summary="A ticket's SLA clocks: each metric's target, state, due and warning times",
    description="`policy` is the policy and version the ticket is measured under (null: none matched). "
    "Each clock's `state` is active, paused, fulfilled or breached as of now. With `as_of`, the clocks as they stood "
    "then: the ticket's events up to it replayed from the log, under the SLA policies as they stood at each event "
    "(the same rules the read model applies), judged at `as_of`; an instant before the ticket existed is a 404 naming "
    "`as_of`. An auditor's as-of read is recorded in the access log.",
)
def get_ticket_sla(ticket_id: UUID, caller: ReaderDep, clock: ClockDep, store: InboxStore, ledger: LedgerDep,
                   as_of: InstantDep, access: AccessDep) -> PlainJSON:
    if as_of is not None:
        found = ticket_sla_as_of(ledger, sla_queries.policy_ids(store, caller.tenant), caller.tenant, ticket_id, as_of)
        access.record("as_of", f"ticket/{ticket_id}/sla", {"as_of": as_of.isoformat()})
        return PlainJSON(found)
    found = sla_queries.ticket_sla(store, caller.tenant, str(ticket_id), now=clock())
    if found is None:
        raise NotFound(f"no ticket {ticket_id}", field="ticket_id")
    return PlainJSON(found)


@router.get(
    "/sla-policies",
    response_model=SlaPolicyList,
    responses=problem_responses(422),
    summary="The tenant's active SLA policies, in the order they are tried",
    description="Lower rank first, then the earlier defined, then by id: a ticket gets the first that matches.",
)
def list_sla_policies(caller: ReaderDep, store: InboxStore) -> PlainJSON:
    return PlainJSON({"items": sla_queries.sla_policies(store, caller.tenant)})
