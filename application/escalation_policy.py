"""The escalation policy: an SLA clock that reaches its warning or its due time escalates the
ticket as its SLA policy says (domain/escalation.py), once per clock and level.

Its triggers are timers, not events of the log: the sweep over the SLA read model
(projections/escalation_sweep.py) fires one for each clock that owes an escalation, and with a
broker a delayed message fires one at the due time. A timer's id derives from (ticket, metric,
cycle, level), so a timer fired twice, or by both the message and the sweep, is the same
command, which the ticket escalates once.
"""
from __future__ import annotations

from typing import Any, Protocol
from uuid import NAMESPACE_URL, UUID, uuid5

from ledgerdesk.domain.audit import ActorKind

from . import commands as c
from .policy import Trigger, policy_context

LEVEL_REACHED = "Sla.LevelReached"
TIMER_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.invalid/sla-timers")


class DueClock(Protocol):
    tenant: str
    ticket_id: str
    level: Any
    reading: Any  # domain.escalation.ClockReading
    settings: Any  # domain.escalation.EscalationSettings
    seen_at: Any


class SlaTimers(Protocol):
    def due(self, tenant: str, ticket_id: str) -> list[DueClock]:
        """The ticket's clocks that owe an escalation now, as the SLA read model has them."""
        ...


def timer_trigger(tenant: str, ticket_id: str, metric: str, cycle: int, level: str) -> Trigger:
    """The trigger of the timer of one clock's level."""
    return Trigger(
        event_id=str(uuid5(TIMER_NAMESPACE, f"{ticket_id}:{metric}:{cycle}:{level}")),
        type=LEVEL_REACHED,
        aggregate_id=ticket_id,
        version=0,
        tenant=tenant,
        actor_kind=ActorKind.SYSTEM.value,
        actor_id="sla-timer",
        data={"metric": metric, "cycle": cycle, "level": level},
    )


class EscalationPolicy:
    name = "escalation"
    event_types = frozenset({LEVEL_REACHED})
    own_event_types: frozenset[str] = frozenset()

    def __init__(self, timers: SlaTimers) -> None:
        self.timers = timers

    def commands_for(self, trigger: Trigger, ledger: Any) -> list[Any]:
        data = trigger.data
        wanted = (data["metric"], data["cycle"], data["level"])
        for due in self.timers.due(trigger.tenant, trigger.aggregate_id):
            if (str(due.reading.metric), due.reading.cycle, str(due.level)) != wanted:
                continue
            reason = f"the {data['metric']} SLA clock reached its {'due time' if data['level'] == 'breach' else 'warning'}"
            ctx = policy_context(self.name, trigger, reason=reason)
            return [c.EscalateTicket(ctx, UUID(trigger.aggregate_id), reading=due.reading, settings=due.settings,
                                     seen_at=due.seen_at)]
        return []  # answered, paused or escalated meanwhile: the timer has nothing left to do
