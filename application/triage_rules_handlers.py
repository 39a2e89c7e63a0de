"""The triage rules command, and the rule set in force for a tenant at a point of the log.

A tenant has one TriageRules aggregate, found by the tenant alone (its id derives from it), so
no tenant can name another's rules.
"""
from __future__ import annotations

from typing import Any

from ledgerdesk.domain.errors import VersionConflict
from ledgerdesk.domain.triage_rules import TriageRules

from . import commands as c
from .log_positions import position_of
from .unit_of_work import UnitOfWork, load_owned


def put_triage_rules(uow: UnitOfWork, cmd: c.PutTriageRules) -> dict[str, Any]:
    rule_set = uow.find(TriageRules, TriageRules.id_for(uow.tenant))
    current = 0 if rule_set is None else rule_set.version
    if cmd.expected_version is not None and cmd.expected_version != current:
        raise VersionConflict(cmd.expected_version, current)
    if rule_set is None:
        rule_set = TriageRules.define(uow.meta, uow.at, cmd.rules)
        uow.add(rule_set)
        created = True
    else:
        rule_set.revise(uow.meta, uow.at, cmd.rules)
        created = False
    return {"version": rule_set.version, "rule_count": len(rule_set.rules), "created": created}


def rules_in_force(ledger: Any, tenant: str, before_position: int | None = None) -> TriageRules | None:
    """The tenant's rules aggregate, None while it has never defined any (the defaults apply).

    With `before_position`, as it was at the last version stored before that log position, so
    a revision never applies to an earlier message however late the policy reads it."""
    rules_id = TriageRules.id_for(tenant)
    found = load_owned(ledger.repository, TriageRules, rules_id, tenant)
    if found is None or before_position is None:
        return found
    version = found.version
    while version >= 1 and (position_of(ledger.recorder, rules_id, version) or 0) > before_position:
        version -= 1
    if version == 0:
        return None
    return found if version == found.version else ledger.repository.get(rules_id, version=version)


TRIAGE_RULES_HANDLERS = {c.PutTriageRules: put_triage_rules}
