"""`build_case`: one case file, as a plain JSON-ready dict, replayed from the log up to a moment."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from .entries import StoredStep, case_entries, ticket_facts
from .proof import proof_section, stream_proof
from .scope import CaseIndex, CaseScope, resolve_scope
from .sla_outcome import SlaClocks, sla_outcome
from .verification import FORMAT

VERIFY_COMMAND = "ledgerdesk audit verify-file CASE.json"
COVERED = ("every entry and every ticket's facts derive from the proof's stored events, whose hashes chain to the heads "
           "and the digest shown")
NOT_COVERED = ("tickets[].sla: from the SLA read model, not from the proof",
               "that these streams are the ones stored: the file is consistent with itself; no checkpoint anchors it yet")


def build_case(ledger: Any, index: CaseIndex, sla_clocks: SlaClocks, tenant: str, scope: CaseScope,
               as_of: datetime | None, now: datetime) -> dict[str, Any]:
    """The case of `scope` as it stood at `as_of` (None: `now`), from the tenant's streams only."""
    moment = now if as_of is None else as_of
    resolved = resolve_scope(ledger, index, tenant, scope, moment)
    proofs, steps = [], {}
    for stream_id in sorted(resolved.streams, key=str):
        stream = resolved.streams[stream_id]
        proof = stream_proof(ledger, stream_id, stream.stored[-1].originator_version, stored=stream.stored)
        proofs.append(proof)
        steps[proof["stream_id"]] = [StoredStep(proof["stream_id"], e["version"], e["topic"], e["state"]) for e in proof["events"]]
    entries = case_entries(steps)
    facts = ticket_facts(entries)
    tickets = [{**facts[t], "sla": sla_outcome(sla_clocks, tenant, t, moment, now)} for t in sorted(facts)]
    proof = proof_section(proofs)
    return {
        "format": FORMAT,
        "tenant": tenant,
        "scope": {
            "kind": str(scope.kind),
            "field": scope.field,
            "value": scope.value,
            "ticket_ids": resolved.ids("ticket"),
            "conversation_ids": resolved.ids("conversation"),
            "customer_ids": resolved.customer_ids,
        },
        "as_of": moment.isoformat(),
        "as_of_requested": as_of is not None,
        "generated_at": now.isoformat(),
        "entries": entries,
        "tickets": tickets,
        "proof": proof,
        "verification": {"command": VERIFY_COMMAND, "digest": proof["digest"], "covered": COVERED, "not_covered": list(NOT_COVERED)},
    }
