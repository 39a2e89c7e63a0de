"""One handler per SLA policy command. A policy belongs to the tenant that defined it."""
from __future__ import annotations

from typing import Any

from ledgerdesk.domain.sla_policy import SlaPolicy

from . import commands as c
from .unit_of_work import UnitOfWork


def _answer(policy: SlaPolicy) -> dict[str, Any]:
    return {"sla_policy_id": str(policy.id), "version": policy.version}


def define_sla_policy(uow: UnitOfWork, cmd: c.DefineSlaPolicy) -> dict[str, Any]:
    policy = SlaPolicy.define(
        uow.meta, uow.at, cmd.name, cmd.rank, cmd.match, cmd.targets, cmd.warning_percent, cmd.calendar, cmd.escalation
    )
    uow.add(policy)
    return _answer(policy)


def revise_sla_policy(uow: UnitOfWork, cmd: c.ReviseSlaPolicy) -> dict[str, Any]:
    policy = uow.get(SlaPolicy, cmd.policy_id, field="policy_id", expected_version=cmd.expected_version)
    policy.revise(uow.meta, uow.at, cmd.name, cmd.rank, cmd.match, cmd.targets, cmd.warning_percent, cmd.calendar, cmd.escalation)
    return _answer(policy)


def retire_sla_policy(uow: UnitOfWork, cmd: c.RetireSlaPolicy) -> dict[str, Any]:
    policy = uow.get(SlaPolicy, cmd.policy_id, field="policy_id", expected_version=cmd.expected_version)
    policy.retire(uow.meta, uow.at)
    return _answer(policy)


SLA_POLICY_HANDLERS = {
    c.DefineSlaPolicy: define_sla_policy,
    c.ReviseSlaPolicy: revise_sla_policy,
    c.RetireSlaPolicy: retire_sla_policy,
}
