"""The SLA clocks that owe an escalation, as the escalation sweep asks for them.

A running clock owes one once `now` reaches its warning time or its due time and the ticket was
not escalated for that level yet (sla_escalations). Each comes with what the decision needs: the
clock read at `now`, the escalation settings of the ticket's SLA policy, and the ticket's last
event time as the read model saw it (escalate_ticket.py trusts the reading only while the ticket
has not changed since).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, literal, select, union_all

from ledgerdesk.application.escalation_policy import timer_trigger
from ledgerdesk.domain.escalation import ClockReading, EscalationLevel, EscalationSettings
from ledgerdesk.domain.sla import ClockState, SlaMetric
from ledgerdesk.domain.sla_policy import DEFAULT_ESCALATION

from ..inbox.projection import NAME
from ..inbox.tables import inbox_tickets
from ..instants import utc
from ..store import ReadStore
from .tables import sla_clocks, sla_escalations, sla_policies, sla_tickets


@dataclass(frozen=True)
class DueClock:
    tenant: str
    ticket_id: str
    level: EscalationLevel
    reached_at: datetime  # when the clock reached the level (its warning or due time)
    reading: ClockReading
    settings: EscalationSettings
    seen_at: datetime


def due_clocks(store: ReadStore, now: datetime, limit: int = 500, ticket_id: str | None = None) -> list[DueClock]:
    """Running clocks past a level they were not escalated for, longest due first (one ticket's
    only, with `ticket_id`)."""
    now = utc(now)
    k, e, t, i, p = sla_clocks, sla_escalations, sla_tickets, inbox_tickets, sla_policies
    with store.reading() as conn:
        generation = store.active_generation(conn, NAME)

        def owing(level: EscalationLevel, column) -> select:  # type: ignore[no-untyped-def,valid-type]
            done = exists().where(e.c.generation == generation, e.c.ticket_id == k.c.ticket_id, e.c.metric == k.c.metric,
                                  e.c.cycle == k.c.cycle, e.c.level == str(level))
            return select(k.c.ticket_id, k.c.metric, k.c.cycle, k.c.due_at, k.c.warning_at,
                          literal(str(level)).label("level"), column.label("reached_at")).where(
                k.c.generation == generation, k.c.stopped_at.is_(None), k.c.paused.is_(False),
                column.is_not(None), column <= now, ~done, *([k.c.ticket_id == ticket_id] if ticket_id else []))

        owed = union_all(owing(EscalationLevel.WARNING, k.c.warning_at), owing(EscalationLevel.BREACH, k.c.due_at)).subquery()
        rows = conn.execute(
            select(owed, i.c.tenant, i.c.updated_at, p.c.body)
            .join(i, and_(i.c.generation == generation, i.c.ticket_id == owed.c.ticket_id))
            .join(t, and_(t.c.generation == generation, t.c.ticket_id == owed.c.ticket_id))
            .outerjoin(p, and_(p.c.generation == generation, p.c.policy_id == t.c.policy_id))
            .order_by(owed.c.reached_at, owed.c.ticket_id, owed.c.metric, owed.c.level)
            .limit(limit)
        ).mappings().all()
    found = []
    for row in rows:
        due_at = utc(row["due_at"]) if row["due_at"] is not None else None
        warning_at = utc(row["warning_at"]) if row["warning_at"] is not None else None
        reading = ClockReading(
            metric=SlaMetric(row["metric"]), cycle=row["cycle"], at=now,
            state=ClockState.BREACHED if due_at is not None and due_at <= now else ClockState.ACTIVE,
            paused=False, stopped=False, warning_reached=warning_at is not None and warning_at <= now, due_at=due_at,
        )
        body = row["body"] or {}
        found.append(DueClock(
            tenant=row["tenant"], ticket_id=row["ticket_id"], level=EscalationLevel(row["level"]),
            reached_at=utc(row["reached_at"]), reading=reading,
            settings=EscalationSettings.from_dict(body.get("escalation", DEFAULT_ESCALATION)),
            seen_at=utc(row["updated_at"]),
        ))
    return found


def next_due(store: ReadStore, after: datetime) -> datetime | None:
    """The earliest warning or due time of a running clock still to come after `after`."""
    after = utc(after)
    k = sla_clocks
    with store.reading() as conn:
        generation = store.active_generation(conn, NAME)
        moments = [
            conn.execute(select(func.min(column)).where(
                k.c.generation == generation, k.c.stopped_at.is_(None), k.c.paused.is_(False), column > after)).scalar()
            for column in (k.c.warning_at, k.c.due_at)
        ]
    moments = [utc(m) for m in moments if m is not None]
    return min(moments) if moments else None





class ReadModelSlaTimers:
    """The escalation policy's view of the clocks (application/escalation_policy.py: SlaTimers)."""

    def __init__(self, store: ReadStore, clock) -> None:  # type: ignore[no-untyped-def]
        self.store = store
        self.clock = clock

    def due(self, tenant: str, ticket_id: str) -> list[DueClock]:
        return [d for d in due_clocks(self.store, self.clock(), ticket_id=ticket_id) if d.tenant == tenant]


class SlaClockTimers:
    """The SLA clocks' warning and due times, as timers of the escalation policy."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store

    def due(self, now: datetime, limit: int) -> list:
        return [trigger for _at, trigger in self.upcoming(None, now, limit)]

    def upcoming(self, after: datetime | None, until: datetime, limit: int) -> list:
        return [(d.reached_at, timer_trigger(d.tenant, d.ticket_id, str(d.reading.metric), d.reading.cycle, str(d.level)))
                for d in due_clocks(self.store, until, limit=limit) if after is None or d.reached_at > after]

    def next_at(self, now: datetime) -> datetime | None:
        return next_due(self.store, now)
