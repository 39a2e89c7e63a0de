"""The tenant's triage rules: /v1/triage-rules. Admins replace them; every role reads them.

There is one rule set per tenant, found by the caller's tenant alone, so no request can name
another tenant's rules. Each change is an event of the tenant's TriageRules aggregate.
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from ledgerdesk.application import commands as c
from ledgerdesk.application.errors import Forbidden, NotFound
from ledgerdesk.application.triage_rules_handlers import rules_in_force
from ledgerdesk.domain.triage import default_rules
from ledgerdesk.domain.triage_rules import DEFAULT_SOURCE, TENANT_SOURCE, TriageRules
from ledgerdesk.interfaces.settings import Role

from . import schemas as s
from . import triage_rule_schemas as t
from .access import AccessDep
from .deps import Caller, CallerDep, LedgerDep, ReaderDep
from .inputs import Digits, MAX_VERSION
from .problems import problem_responses
from .responses import PlainJSON, command_answer

router = APIRouter(prefix="/v1/triage-rules", tags=["triage rules"])


async def get_admin(caller: CallerDep) -> Caller:
    if caller.key.role is not Role.ADMIN:
        raise Forbidden("only an admin changes the triage rules", field="Authorization")
    return caller


AdminDep = Annotated[Caller, Depends(get_admin)]


def rules_view(found: TriageRules | None) -> dict[str, Any]:
    if found is None:
        return {"version": 0, "source": DEFAULT_SOURCE, "rules": [rule.to_dict() for rule in default_rules()],
                "defined_at": None, "updated_at": None}
    return {"version": found.version, "source": TENANT_SOURCE, "rules": [dict(rule) for rule in found.rules],
            "defined_at": found.created_on.isoformat(), "updated_at": found.modified_on.isoformat()}


@router.put("", response_model=t.TriageRulesAnswer, status_code=200,
            summary="Replace the tenant's triage rules: defines them (201) or revises them (200)",
            description="The whole list, in precedence order. The same list again appends nothing and answers "
            "`\"position\": null`. With `expected_version` (0 while the defaults apply) a stale version is a 409.",
            responses={201: {"model": t.TriageRulesAnswer, "description": "Defined"},
                       **problem_responses(400, 403, 409, 413, 422)})
def put_rules(body: t.TriageRulesIn, caller: AdminDep, ledger: LedgerDep) -> PlainJSON:
    command = c.PutTriageRules(
        caller.context(body.reason),
        rules=[rule.model_dump(mode="json") for rule in body.rules],
        expected_version=body.expected_version,
    )
    outcome = ledger.execute(command)
    return command_answer(outcome, status_code=201 if outcome.result.get("created") else 200)


@router.get("", response_model=t.TriageRulesOut, summary="The tenant's triage rules in force, with their version",
            description="A tenant that never defined its own gets the defaults, as version 0 with `\"source\": \"default\"`.",
            responses=problem_responses(422))
def get_rules(caller: ReaderDep, ledger: LedgerDep) -> PlainJSON:
    return PlainJSON(rules_view(rules_in_force(ledger, caller.tenant)))


@router.get("/history", response_model=s.HistoryPage,
            summary="Every version of the tenant's triage rules: who changed them, when and why",
            description="Empty while the tenant has never defined its own rules.",
            responses=problem_responses(422, 503))
def get_history(
    caller: ReaderDep,
    ledger: LedgerDep,
    access: AccessDep,
    after_version: Annotated[int, Digits, Query(ge=0, le=MAX_VERSION)] = 0,
    # A version holds the whole rule set (up to about 1 MB): a page of them is kept short.
    limit: Annotated[int, Digits, Query(ge=1, le=50)] = 20,
) -> PlainJSON:
    try:
        page = ledger.history(caller.tenant, TriageRules, TriageRules.id_for(caller.tenant), after_version, limit, "tenant")
    except NotFound:
        page = {"items": [], "next_after_version": None}
    access.record("history", "triage_rules", {"after_version": after_version, "limit": limit})
    return PlainJSON(page)
