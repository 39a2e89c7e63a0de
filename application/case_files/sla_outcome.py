"""Each ticket's SLA clocks in a case: met, missed, running or paused at the case's moment.

As of now, they are the SLA read model's clocks judged now (GET /v1/tickets/{id}/sla); as of an
earlier moment, the ticket's own events replayed to that moment under the SLA policies in force
then (GET /v1/tickets/{id}/sla?as_of=). Either is exact; neither is covered by the proof (the
policies are other streams), which the case file says.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

JUDGED_NOW = "now, by the SLA read model"
JUDGED_EARLIER = "at the case's moment, from the ticket's events replayed to it under the SLA policies in force then"
_OUTCOME_NOW = {"fulfilled": "met", "breached": "missed", "active": "running", "paused": "paused"}


class SlaClocks(Protocol):
    def __call__(self, tenant: str, ticket_id: str, moment: datetime, now: datetime) -> dict[str, Any] | None:
        """`{"policy", "clocks": [view...]}` as GET /v1/tickets/{id}/sla answers as of `moment`; None: not measured."""


def _outcome(clock: dict[str, Any]) -> dict[str, Any]:
    outcome = _OUTCOME_NOW.get(clock["state"], clock["state"])
    return {"metric": clock["metric"], "cycle": clock["cycle"], "target_seconds": clock["target_seconds"],
            "outcome": outcome, "started_at": clock["started_at"], "stopped_at": clock["stopped_at"],
            "due_at": clock["due_at"], "missed_at": clock["breached_at"] if outcome == "missed" else None}


def sla_outcome(clocks_of: SlaClocks, tenant: str, ticket_id: str, moment: datetime, now: datetime) -> dict[str, Any]:
    found = clocks_of(tenant, ticket_id, min(moment, now), now)
    judged = JUDGED_NOW if moment >= now else JUDGED_EARLIER
    if found is None:
        return {"judged": judged, "policy": None, "clocks": [],
                "note": "not measured: no SLA policy applies, the ticket was merged away, or the read model has not seen it yet"}
    return {"judged": judged, "policy": found["policy"], "clocks": [_outcome(c) for c in found["clocks"]], "note": None}
