"""SLA values as the read model stores them: policy rows as terms, clocks as rows, and the
inbox row's SLA columns. Nothing here depends on the wall clock: states at a moment are the
queries' business.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson

from ledgerdesk.domain.business_hours import BusinessCalendar
from ledgerdesk.domain.sla import MetricClock, SlaTerms, TicketSla
from ledgerdesk.domain.sla_policy import DEFAULT_ESCALATION, SlaPolicySnapshot

from ..instants import epoch_ms, iso, utc

# due_sort of a ticket with no running SLA clock: after every real due time (epoch ms).
DUE_NEVER = 2**62
# The inbox row's SLA columns of a ticket that nothing measures.
NO_SLA_FIELDS = {"sla_policy_id": None, "sla_policy_version": None, "next_due_at": None, "due_sort": DUE_NEVER,
                 "breach_at": None, "sla_clocks": None}


@lru_cache(maxsize=256)
def _calendar(canonical: bytes) -> BusinessCalendar:
    return BusinessCalendar.from_dict(orjson.loads(canonical))


def policy_snapshot(row: dict[str, Any]) -> SlaPolicySnapshot:
    body = row["body"]
    return SlaPolicySnapshot(
        policy_id=row["policy_id"],
        version=row["version"],
        name=row["name"],
        rank=row["rank"],
        match=body["match"],
        targets=body["targets"],
        warning_percent=body["warning_percent"],
        calendar=body["calendar"],
        escalation=body.get("escalation", DEFAULT_ESCALATION),
        defined_at=utc(row["defined_at"]),
        retired=row["retired"],
    )


def policy_terms(policy: SlaPolicySnapshot) -> SlaTerms:
    """What a ticket under this version of the policy is measured on."""
    return SlaTerms(
        policy_id=policy.policy_id,
        policy_version=policy.version,
        targets={metric: seconds for metric, seconds in policy.targets.items() if seconds is not None},
        warning_percent=policy.warning_percent,
        calendar=_calendar(orjson.dumps(policy.calendar, option=orjson.OPT_SORT_KEYS)),
    )


def _warning_reached(clock: MetricClock) -> bool:
    share = timedelta(microseconds=clock.target_seconds * clock.warning_percent * 10_000)  # as MetricClock reckons it
    return timedelta(seconds=clock.elapsed_seconds) >= share


def _target_reached(clock: MetricClock) -> bool:
    return timedelta(seconds=clock.elapsed_seconds) >= timedelta(seconds=clock.target_seconds)


def clock_row(ticket_id: str, tenant: str, channel: str, clock: MetricClock) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "metric": str(clock.metric),
        "cycle": clock.cycle,
        "tenant": tenant,
        "channel": channel,
        "target_seconds": clock.target_seconds,
        "started_at": clock.started_at,
        "due_at": clock.due_at,
        "warning_at": clock.warning_at,
        "stopped_at": clock.stopped_at,
        "breached_at": clock.breached_at,
        "paused": not clock.is_stopped and not clock.is_running,
        "elapsed_seconds": clock.elapsed_seconds,
        "running_since": clock.running_since,
    }


def sla_fields(sla: TicketSla, clocks: list[MetricClock]) -> dict[str, Any]:
    """The inbox row's SLA columns from the ticket's clocks; nothing here depends on the wall clock.

    A running clock is breached once now reaches its due_at and warns once now reaches its
    warning_at; a paused clock's elapsed time stands still, so whether it is past its target or
    its warning share is known already. Both are kept for the query to judge at its `now`.
    """
    live = []
    next_due: datetime | None = None
    breach: datetime | None = None
    for clock in clocks:
        if clock.is_stopped:
            continue
        if clock.is_running:
            if clock.due_at is not None:
                next_due = clock.due_at if next_due is None else min(next_due, clock.due_at)
                breach = clock.due_at if breach is None else min(breach, clock.due_at)
            live.append({"metric": str(clock.metric), "cycle": clock.cycle, "running": True,
                         "due_at": iso(clock.due_at), "warning_at": iso(clock.warning_at),
                         "breached": False, "warned": False})
        else:
            breached = _target_reached(clock)
            if breached:
                reached = clock.due_at or clock.running_since or clock.started_at
                breach = reached if breach is None else min(breach, reached)
            live.append({"metric": str(clock.metric), "cycle": clock.cycle, "running": False,
                         "due_at": iso(clock.due_at), "warning_at": iso(clock.warning_at),
                         "breached": breached, "warned": breached or _warning_reached(clock)})
    terms = sla.terms
    return {
        "sla_policy_id": terms.policy_id if terms is not None else None,
        "sla_policy_version": terms.policy_version if terms is not None else None,
        "next_due_at": next_due,
        "due_sort": epoch_ms(next_due) if next_due is not None else DUE_NEVER,
        "breach_at": breach,
        "sla_clocks": live or None,
    }
