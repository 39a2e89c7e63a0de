"""Tamper evidence over HTTP: /v1/audit/verify checks one of the tenant's streams. Auditors and admins only."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from ledgerdesk.application.errors import Forbidden
from ledgerdesk.interfaces.settings import ApiKey, Role

from . import audit_schemas as a
from .access import AccessDep
from .deps import LedgerDep, get_principal
from .problems import problem_responses
from .responses import PlainJSON

router = APIRouter(prefix="/v1/audit", tags=["audit"])

VERIFIERS = frozenset({Role.AUDITOR, Role.ADMIN})


async def get_verifier(principal: Annotated[ApiKey, Depends(get_principal)]) -> ApiKey:
    if principal.role not in VERIFIERS:
        raise Forbidden("only an auditor or an admin verifies the history", field="Authorization")
    return principal


VerifierDep = Annotated[ApiKey, Depends(get_verifier)]


@router.get(
    "/verify",
    response_model=a.StreamVerification,
    responses=problem_responses(403, 404, 422),
    summary="Check one stream's hash chain (an aggregate's events, e.g. a ticket's)",
    description="Recomputes each event's hash from the stored event and the previous hash, and compares it with the "
    "hash recorded at append: `breaks` says which event was altered, removed or inserted. `checkpoint` is the latest "
    "checkpoint of the whole log if it covers the stream's last event (`ledgerdesk audit verify` checks the log "
    "against them). Only the caller's tenant's streams; auditor and admin keys.",
)
def verify(
    key: VerifierDep,
    ledger: LedgerDep,
    access: AccessDep,
    stream: Annotated[UUID, Query(description="the stream's id: an aggregate's id, e.g. a ticket's")],
) -> PlainJSON:
    verdict = ledger.verify_stream(stream, tenant=key.tenant, field="stream")
    access.record("verify", f"stream/{stream}")
    return PlainJSON(verdict)
