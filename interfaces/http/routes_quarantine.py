"""Quarantined mail, for admins: list it, read one with its raw bytes, retry it with today's parser.

The list reads the quarantine read model; a single mail, with its bytes, comes from its aggregate.
"""
from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from ledgerdesk.application.errors import Forbidden
from ledgerdesk.domain.quarantined_mail import QuarantinedMail
from ledgerdesk.interfaces.settings import ApiKey, Role
from ledgerdesk.projections.quarantine import queries as q
from ledgerdesk.projections.store import ReadStore

from ..mail_intake import retry_quarantined_mail
from .deps import Caller, CallerDep, LedgerDep, get_principal, read_model
from .inputs import Digits, MAX_POSITION
from .problems import problem_responses
from .responses import PlainJSON, command_answer

router = APIRouter(prefix="/v1/mail/quarantine", tags=["mail quarantine"])


class QuarantineAnswer(BaseModel):
    quarantine_id: UUID
    status: Literal["held", "released"]
    reason: str
    field: str
    sha256: str
    size: int
    duplicate: bool
    position: int | None = None


class ReleasedAs(BaseModel):
    at: str
    customer_id: UUID
    conversation_id: UUID
    ticket_id: UUID
    message_id: UUID


class QuarantinedMailItem(BaseModel):
    quarantine_id: UUID
    tenant: str
    position: int
    status: Literal["held", "released"]
    reason: str
    field: str
    size: int
    sha256: str
    received_at: str
    quarantined_at: str
    released: ReleasedAs | None


class QuarantinePage(BaseModel):
    items: list[QuarantinedMailItem]
    next_before: int | None


class QuarantinedMailOut(BaseModel):
    quarantine_id: UUID
    version: int
    status: Literal["held", "released"]
    reason: str
    field: str
    size: int
    sha256: str
    received_at: str
    quarantined_at: str
    released: ReleasedAs | None
    raw_base64: str


class ReleaseAnswer(BaseModel):
    quarantine_id: UUID
    status: Literal["released"]
    customer_id: UUID
    conversation_id: UUID
    ticket_id: UUID
    message_id: UUID
    duplicate: bool
    position: int | None = None


def _require_admin(key: ApiKey) -> None:
    if key.role is not Role.ADMIN:
        raise Forbidden("only an admin handles quarantined mail", field="Authorization")


async def get_admin(principal: Annotated[ApiKey, Depends(get_principal)]) -> ApiKey:
    """An admin who reads: no command headers."""
    _require_admin(principal)
    return principal


async def get_admin_caller(caller: CallerDep) -> Caller:
    """An admin who commands, with the audit headers."""
    _require_admin(caller.key)
    return caller


AdminDep = Annotated[ApiKey, Depends(get_admin)]
AdminCallerDep = Annotated[Caller, Depends(get_admin_caller)]
QuarantineStore = Annotated[ReadStore, read_model(q.QUARANTINE)]


@router.get(
    "",
    response_model=QuarantinePage,
    responses=problem_responses(403, 422),
    summary="The tenant's quarantined mail, newest first",
    description="Mail that could not become a message, with the reason and the header or part at fault; "
    "`status=held` for what still waits. Pass `next_before` back as `before` for the next page. Reads the "
    "quarantine read model, which follows the log within moments.",
)
def list_quarantined_mail(
    admin: AdminDep,
    store: QuarantineStore,
    status: Literal["held", "released"] | None = None,
    before: Annotated[int | None, Digits, Query(ge=1, le=MAX_POSITION)] = None,
    limit: Annotated[int, Digits, Query(ge=1, le=q.MAX_LIMIT)] = q.DEFAULT_LIMIT,
) -> PlainJSON:
    return PlainJSON(q.quarantined_mail_list(store, admin.tenant, status, before, limit))


@router.get(
    "/{quarantine_id}",
    response_model=QuarantinedMailOut,
    responses=problem_responses(403, 404, 422),
    summary="One quarantined mail, with its raw bytes (base64)",
)
def get_quarantined_mail(quarantine_id: UUID, admin: AdminDep, ledger: LedgerDep) -> PlainJSON:
    mail: QuarantinedMail = ledger.aggregate(admin.tenant, QuarantinedMail, quarantine_id, "quarantine_id")
    released = mail.released_as
    return PlainJSON(
        {
            "quarantine_id": str(mail.id),
            "version": mail.version,
            "status": str(mail.status),
            "reason": mail.reason,
            "field": mail.field,
            "size": mail.size,
            "sha256": mail.sha256,
            "received_at": mail.received_at.isoformat(),
            "quarantined_at": mail.created_on.isoformat(),
            "released": {"at": mail.released_at.isoformat(), **{k: str(v) for k, v in released.items()}}
            if released is not None and mail.released_at is not None
            else None,
            "raw_base64": mail.raw_base64,
        }
    )


@router.post(
    "/{quarantine_id}/retry",
    status_code=201,
    response_model=ReleaseAnswer,
    summary="Read a quarantined mail again with today's parser; take it in if it now makes a message",
    description="The message's events and the mail's release are stored in one atomic append. A mail that still "
    "cannot become a message is a 422 naming the header or part at fault, one already released a 409; "
    "nothing is stored then. 200 when the message had come in meanwhile (the mail is released to it).",
    responses={200: {"model": ReleaseAnswer, "description": "released to a message that had come in meanwhile"},
               **problem_responses(403, 404, 409, 422)},
)
def retry(quarantine_id: UUID, caller: AdminCallerDep, ledger: LedgerDep) -> PlainJSON:
    outcome = retry_quarantined_mail(ledger, caller.context(), quarantine_id)
    return command_answer(outcome, 200 if outcome.result["duplicate"] else 201)
