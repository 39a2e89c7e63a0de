"""`build_case`: one case file, as a plain JSON-ready dict, replayed from the log up to a moment."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from .entries import StoredStep, case_entries, ticket_facts
from .proof import proof_section, stream_proof
from .scope import CaseIndex, CaseScope, resolve_scope
from .sla_outcome import SlaClocks, sla_outcome
from .verification import FORMAT

VERIFY_COMMAND = "ledgerdesk audit verify-file CASE.json"
COVERED = ("every entry and every ticket's facts derive from the proof's stored events, whose hashes chain to the heads "
           "and the digest shown")
NOT_COVERED = ("tickets[].sla: computed from the ticket's events and the SLA policies, which the proof does not hold",
               "that the heads are the shop's: compare a stream's head_hash, or its checkpoint, with the shop's log "
               "(ledgerdesk audit verify, GET /v1/audit/verify); each stream's verified_at_export says the export did")


def build_case(ledger: Any, index: CaseIndex, sla_clocks: SlaClocks, tenant: str, scope: CaseScope,
               as_of: datetime | None, now: datetime) -> dict[str, Any]:
    """The case of `scope` as it stood at `as_of` (None: `now`), from the tenant's streams only."""
    moment = now if as_of is None else as_of
    resolved = resolve_scope(ledger, index, tenant, scope, moment)
    proofs = [stream_proof(ledger, stream_id, stream.stored[-1].originator_version, stored=stream.stored)
              for stream_id, stream in sorted(resolved.streams.items(), key=lambda item: str(item[0]))]
    scope_view = {
        "kind": str(scope.kind),
        "field": scope.field,
        "value": scope.value,
        "ticket_ids": resolved.ids("ticket"),
        "conversation_ids": resolved.ids("conversation"),
        "customer_ids": resolved.customer_ids,
    }
    return assemble_case(tenant, scope_view, proofs, moment, as_of is not None, now,
                         lambda ticket_id: sla_outcome(sla_clocks, tenant, ticket_id, moment, now))


def assemble_case(tenant: str, scope_view: dict[str, Any], proofs: list[dict[str, Any]], moment: datetime, requested: bool,
                  now: datetime, sla_of: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """The case file from its streams' proofs: entries and tickets' facts are made from the proofs' stored states."""
    steps = {p["stream_id"]: [StoredStep(p["stream_id"], e["version"], e["topic"], e["state"]) for e in p["events"]] for p in proofs}
    entries = case_entries(steps)
    facts = ticket_facts(entries)
    proof = proof_section(proofs)
    return {
        "format": FORMAT,
        "tenant": tenant,
        "scope": scope_view,
        "as_of": moment.isoformat(),
        "as_of_requested": requested,
        "generated_at": now.isoformat(),
        "entries": entries,
        "tickets": [{**facts[t], "sla": sla_of(t)} for t in sorted(facts)],
        "proof": proof,
        "verification": {"command": VERIFY_COMMAND, "digest": proof["digest"], "covered": COVERED, "not_covered": list(NOT_COVERED)},
    }
