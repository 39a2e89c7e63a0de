"""SLA policy commands and queries: /v1/sla-policies (the list comes from a read model, elsewhere).

Integrators and admins define, revise and retire policies, as they manage agents and teams; an
agent works under them and does not set its own targets. Every role reads them.
"""
from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from ledgerdesk.application import commands as c
from ledgerdesk.domain.sla_policy import SlaPolicy, targets_in_minutes_and_seconds

from . import schemas as s
from . import sla_policy_schemas as p
from .access import AccessDep
from .deps import LedgerDep, ReaderDep
from .inputs import Digits, MAX_VERSION
from .problems import problem_responses
from .responses import PlainJSON, command_answer
from .routes_agents import ManagerDep

router = APIRouter(prefix="/v1/sla-policies", tags=["sla-policies"])


def sla_policy_view(policy: SlaPolicy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "version": policy.version,
        "name": policy.name,
        "rank": policy.rank,
        "match": policy.match,
        "targets": targets_in_minutes_and_seconds(policy.targets),
        "warning_percent": policy.warning_percent,
        "calendar": policy.calendar,
        "escalation": policy.escalation,
        "retired": policy.retired,
        "defined_at": policy.created_on.isoformat(),
        "updated_at": policy.modified_on.isoformat(),
    }


MANAGED = "Integrators and admins only; other roles get a 403."


@router.post("", status_code=201, response_model=p.SlaPolicyAnswer, summary="Define an SLA policy",
             description=MANAGED, responses=problem_responses(400, 403, 409, 413, 422))
def define(body: p.SlaPolicyIn, caller: ManagerDep, ledger: LedgerDep) -> PlainJSON:
    command = c.DefineSlaPolicy(
        caller.context(body.reason),
        name=body.name,
        rank=body.rank,
        match=body.match.model_dump(mode="json"),
        targets=body.targets.in_seconds(),
        warning_percent=body.warning_percent,
        calendar=body.calendar,
        escalation=None if body.escalation is None else body.escalation.model_dump(mode="json"),
    )
    return command_answer(ledger.execute(command), status_code=201)


@router.get("/{policy_id}", response_model=p.SlaPolicyOut, summary="An SLA policy's current terms",
            responses=problem_responses(404, 422))
def get_policy(policy_id: UUID, caller: ReaderDep, ledger: LedgerDep) -> PlainJSON:
    return PlainJSON(sla_policy_view(ledger.aggregate(caller.tenant, SlaPolicy, policy_id, "policy_id")))


@router.get("/{policy_id}/history", response_model=s.HistoryPage, summary="Every version of an SLA policy, with audit metadata",
            responses=problem_responses(404, 422, 503))
def get_history(
    policy_id: UUID,
    caller: ReaderDep,
    ledger: LedgerDep,
    access: AccessDep,
    after_version: Annotated[int, Digits, Query(ge=0, le=MAX_VERSION)] = 0,
    limit: Annotated[int, Digits, Query(ge=1, le=1000)] = 100,
) -> PlainJSON:
    page = ledger.history(caller.tenant, SlaPolicy, policy_id, after_version, limit, "policy_id")
    access.record("history", f"sla_policy/{policy_id}", {"after_version": after_version, "limit": limit})
    return PlainJSON(page)


@router.put("/{policy_id}", response_model=p.SlaPolicyAnswer, summary="Revise an SLA policy: every term at once",
            description=MANAGED, responses=problem_responses(400, 403, 404, 409, 413, 422))
def revise(policy_id: UUID, body: p.SlaPolicyRevisionIn, caller: ManagerDep, ledger: LedgerDep) -> PlainJSON:
    command = c.ReviseSlaPolicy(
        caller.context(body.reason),
        policy_id=policy_id,
        expected_version=body.expected_version,
        name=body.name,
        rank=body.rank,
        match=body.match.model_dump(mode="json"),
        targets=body.targets.in_seconds(),
        warning_percent=body.warning_percent,
        calendar=body.calendar,
        escalation=None if body.escalation is None else body.escalation.model_dump(mode="json"),
    )
    return command_answer(ledger.execute(command))


@router.delete("/{policy_id}", response_model=p.SlaPolicyAnswer, summary="Retire an SLA policy: it matches nothing from now on",
               description=MANAGED, responses=problem_responses(403, 404, 409, 422))
def retire(
    policy_id: UUID,
    caller: ManagerDep,
    ledger: LedgerDep,
    expected_version: Annotated[int | None, Digits, Query(ge=1, le=MAX_VERSION)] = None,
    reason: Annotated[str | None, Query(max_length=1000)] = None,
) -> PlainJSON:
    command = c.RetireSlaPolicy(caller.context(reason), policy_id, expected_version=expected_version)
    return command_answer(ledger.execute(command))
