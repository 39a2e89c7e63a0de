"""Each ticket's SLA clocks in a case: met, missed, running or paused at the case's moment.

The clocks come from the SLA read model (`SlaClocks`, as GET /v1/tickets/{id}/sla reads them):
- as of now, they are its clocks judged now: exact;
- as of an earlier moment, its clocks' own instants (started, stopped, due, breached) are judged at
  that moment: a clock started later is left out, one stopped by then shows how it ended, one due
  by then is missed, any other was open (running or paused). A clock stopped and later reopened
  shows as open; its targets are those in force now.
TODO([audit] asof): an exact past replay is `sla_as_of` (branch `asof`); wire it here when merged.
Every answer says which of these it is (`judged`), and the case file says the proof does not cover it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

JUDGED_NOW = "now, by the SLA read model"
JUDGED_EARLIER = "at the case's moment, from the SLA read model's clock instants (see note)"
EARLIER_NOTE = ("clocks as the SLA read model holds them now, judged at the case's moment: stopped by then shows how it "
                "ended, due by then is missed, otherwise open; a later re-target or reopening is not undone")
_OUTCOME_NOW = {"fulfilled": "met", "breached": "missed", "active": "running", "paused": "paused"}


class SlaClocks(Protocol):
    def __call__(self, tenant: str, ticket_id: str, now: datetime) -> dict[str, Any] | None:
        """`{"policy", "clocks": [view...]}` as the SLA read model answers at `now`; None: not measured."""


def _judged_earlier(clock: dict[str, Any], moment: datetime) -> dict[str, Any] | None:
    def at(name: str) -> datetime | None:
        return datetime.fromisoformat(clock[name]) if clock.get(name) else None

    started, stopped, due, breached = at("started_at"), at("stopped_at"), at("due_at"), at("breached_at")
    if started is None or started > moment:
        return None
    if stopped is not None and stopped <= moment:
        outcome, missed_at = ("missed", clock["breached_at"]) if breached is not None else ("met", None)
    elif due is not None and due <= moment:
        outcome, missed_at = "missed", clock["due_at"]
    else:
        outcome, missed_at = "open", None
    return {"metric": clock["metric"], "cycle": clock["cycle"], "target_seconds": clock["target_seconds"],
            "outcome": outcome, "started_at": clock["started_at"],
            "stopped_at": clock["stopped_at"] if outcome in ("met", "missed") and stopped is not None and stopped <= moment else None,
            "due_at": clock["due_at"], "missed_at": missed_at}


def _judged_now(clock: dict[str, Any]) -> dict[str, Any]:
    outcome = _OUTCOME_NOW.get(clock["state"], clock["state"])
    return {"metric": clock["metric"], "cycle": clock["cycle"], "target_seconds": clock["target_seconds"],
            "outcome": outcome, "started_at": clock["started_at"], "stopped_at": clock["stopped_at"],
            "due_at": clock["due_at"], "missed_at": clock["breached_at"] if outcome == "missed" else None}


def sla_outcome(clocks_of: SlaClocks, tenant: str, ticket_id: str, moment: datetime, now: datetime) -> dict[str, Any]:
    found = clocks_of(tenant, ticket_id, now)
    if found is None:
        return {"judged": JUDGED_NOW, "policy": None, "clocks": [],
                "note": "not measured: no SLA policy applies, the ticket was merged away, or the read model has not seen it yet"}
    if moment >= now:
        return {"judged": JUDGED_NOW, "policy": found["policy"], "clocks": [_judged_now(c) for c in found["clocks"]], "note": None}
    judged = [j for j in (_judged_earlier(c, moment) for c in found["clocks"]) if j is not None]
    return {"judged": JUDGED_EARLIER, "policy": found["policy"], "clocks": judged, "note": EARLIER_NOTE}
