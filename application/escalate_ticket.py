"""Escalating a ticket whose SLA clock reached a level: the decision (domain/escalation.py) taken
on the ticket as it is now, in the unit of work that stores it.

The clock comes from the SLA read model, which may lag the ticket: it is trusted only when the
ticket's last event is the one the read model had seen (`seen_at`). A ticket answered, paused or
re-targeted since is refused as changed, and the sweep reads its clock again. Levels escalated
before are on the ticket itself (Ticket.Escalated), so a timer that fires twice escalates once.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from ledgerdesk.domain.errors import DomainError, VersionConflict
from ledgerdesk.domain.escalation import Notify, RaisePriority, TransferToTeam, escalate
from ledgerdesk.domain.team import Team
from ledgerdesk.domain.ticket import Ticket

from . import commands as c
from .unit_of_work import UnitOfWork


class TicketChangedSinceRead(VersionConflict):
    """The ticket moved on after the read model judged its clock: the judgement is stale."""

    def __init__(self, ticket: Ticket) -> None:
        DomainError.__init__(self, "the ticket changed after its SLA clock was read; the clock is read again",
                             field="ticket_id")
        self.expected, self.actual = None, ticket.version


def escalate_ticket(uow: UnitOfWork, cmd: c.EscalateTicket) -> dict[str, Any]:
    ticket = uow.get(Ticket, cmd.ticket_id, field="ticket_id", expected_version=cmd.expected_version)
    if ticket.modified_on != cmd.seen_at:
        raise TicketChangedSinceRead(ticket)
    reading = cmd.reading
    metric = str(reading.metric)
    team = uow.find(Team, Team.id_for(uow.tenant, ticket.team_id)) if ticket.team_id else None
    decision = escalate(reading, cmd.settings, ticket.priority, ticket.team_id, ticket.escalated_levels(metric, reading.cycle),
                        escalation_team=team.escalation_team if team is not None else None)
    answer = {"ticket_id": str(ticket.id), "reason": decision.reason}
    if not decision.levels:
        return {**answer, "escalated": False}
    # The cause is the ticket's event the clock was judged on: the log event that, given the time
    # passed, made the level due (the timer itself is not an event).
    meta = replace(uow.meta, causation_id=str(ticket.last_event_id), reason=decision.reason, decision=decision.inputs)
    raise_to = [a.to for a in decision.actions if isinstance(a, RaisePriority)]
    teams = [a.team for a in decision.actions if isinstance(a, TransferToTeam)]
    ticket.escalate(
        meta, uow.at, metric, reading.cycle, [str(level) for level in decision.levels],
        notify=any(isinstance(a, Notify) for a in decision.actions),
        raise_priority_to=raise_to[-1] if raise_to else None, transfer_to_team=teams[-1] if teams else None,
    )
    return {**answer, "escalated": True, "levels": [str(level) for level in decision.levels],
            "priority": str(ticket.priority), "team_id": ticket.team_id}
