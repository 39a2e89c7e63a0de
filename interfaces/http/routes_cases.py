"""Case files over HTTP: GET /v1/cases (JSON), GET /v1/cases.html (the printable document), and the
browser page /cases/view.

Who reads cases: auditors, admins (this code's supervisors: there is no separate supervisor role)
and agents. Integrators are a channel's connector, not a person looking into a case: 403.

The page cannot send a Bearer header by navigating, and a key in the address would end up in
logs, history and Referer headers, so the page is a shell with no data: its script asks for the
key, keeps it in the tab's sessionStorage, and fetches /v1/cases.html with the header. Its
Content-Security-Policy allows only its own script; the case document itself runs no script at all.
"""
from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse

from ledgerdesk.application.case_files.scope import scope_from
from ledgerdesk.application.errors import Forbidden
from ledgerdesk.interfaces.bootstrap import Runtime, build_case_builder
from ledgerdesk.interfaces.case_document import page_script, render_case, render_page
from ledgerdesk.interfaces.settings import Role
from ledgerdesk.projections.store import ReadStore

from .case_schemas import CaseFile
from .access import record_access
from .deps import Caller, ReaderDep, RuntimeDep, read_model
from .inputs import parsed_instant
from .moments import not_after_now
from .problems import problem_responses
from .responses import PlainJSON

router = APIRouter(prefix="/v1", tags=["cases"])
pages = APIRouter(include_in_schema=False)

CASE_READERS = frozenset({Role.AUDITOR, Role.ADMIN, Role.AGENT})
DOCUMENT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
PRIVATE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

TimelineStore = Annotated[ReadStore, read_model("timeline")]
OrderId = Annotated[str | None, Query(min_length=1, max_length=128, description="every ticket that linked this order")]
CustomerId = Annotated[UUID | None, Query(description="the customer, everyone merged into them, and all their tickets")]
TicketId = Annotated[UUID | None, Query(description="the ticket, the tickets merged with it, and their conversations")]
AsOf = Annotated[str | None, Query(max_length=64, description="RFC 3339 instant with an offset (default: now): "
                                   "the case as the log stood then; an instant after now is a 422")]
DESCRIPTION = (
    "Give exactly one of `order_id`, `customer_id`, `ticket_id`. The case replays every stream it reaches from the log up "
    "to `as_of`: tickets, their conversations and messages on every channel, assignments, status, priority and SLA "
    "changes, and each automatic step with its reason, its decision and the event that caused it, in one time order. "
    "Each ticket's SLA clocks come from the SLA read model (`sla.judged` says how). The `proof` carries every stream's "
    "events as stored with their chained hashes; `ledgerdesk audit verify-file` checks an exported case offline. "
    "Readers: auditor, admin, agent."
)


def _case(caller: Caller, runtime: Runtime, store: ReadStore, order_id: str | None, customer_id: UUID | None,
          ticket_id: UUID | None, as_of: str | None) -> dict:
    if caller.key.role not in CASE_READERS:
        raise Forbidden(f"the {caller.key.role} role does not read case files (auditor, admin, agent do)", field="Authorization")
    scope = scope_from(order_id, customer_id, ticket_id)
    now = runtime.clock()
    moment = parsed_instant(as_of, "as_of") if as_of is not None else None
    if moment is not None:
        not_after_now(moment, now)
    case = build_case_builder(runtime.ledger, store)(caller.tenant, scope, moment, now)
    record_access(runtime.ledger, caller, "case_export", f"{scope.kind}/{scope.value}", {"as_of": case["as_of"]})
    return case


@router.get("/cases", response_model=CaseFile, responses=problem_responses(403, 404, 422),
            summary="A case file: every event of an order, a customer or a ticket, with causes and proof",
            description=DESCRIPTION)
def case_json(caller: ReaderDep, runtime: RuntimeDep, store: TimelineStore, order_id: OrderId = None,
              customer_id: CustomerId = None, ticket_id: TicketId = None, as_of: AsOf = None) -> PlainJSON:
    return PlainJSON(_case(caller, runtime, store, order_id, customer_id, ticket_id, as_of), headers=PRIVATE)


@router.get("/cases.html", response_class=HTMLResponse, responses={
    200: {"content": {"text/html": {"schema": {"type": "string"}}},
          "description": "the case as a self-contained, printable HTML document (no script; CSS inline)"},
    **problem_responses(403, 404, 422)},
    summary="The case file as a printable HTML document, in English or Chinese", description=DESCRIPTION)
def case_html(caller: ReaderDep, runtime: RuntimeDep, store: TimelineStore, order_id: OrderId = None,
              customer_id: CustomerId = None, ticket_id: TicketId = None, as_of: AsOf = None,
              lang: Annotated[Literal["en", "zh"], Query(description="the document's language")] = "en") -> HTMLResponse:
    case = _case(caller, runtime, store, order_id, customer_id, ticket_id, as_of)
    return HTMLResponse(render_case(case, lang), headers={**PRIVATE, "Content-Security-Policy": DOCUMENT_POLICY})


@pages.get("/cases/view")
def case_page() -> HTMLResponse:
    return HTMLResponse(render_page(), headers={**PRIVATE, "Content-Security-Policy": PAGE_POLICY})


@pages.get("/cases/view.js")
def case_page_script() -> Response:
    return Response(page_script(), media_type="text/javascript", headers={**PRIVATE, "Content-Security-Policy": PAGE_POLICY})
