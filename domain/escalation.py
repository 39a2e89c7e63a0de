"""Escalation: what an SLA clock reaching its warning or its due time asks of the ticket.

Pure decisions: the caller reads one clock at the instant its timer fired (`ClockReading.of`),
passes the escalation settings, the ticket's priority and team, and the levels it already
escalated for this clock (metric and cycle), then carries out the actions and records the
decision's `levels` as done. A redelivered or repeated trigger then asks for nothing more.
"""
from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from .errors import InvalidValue
from .sla import ClockState, MetricClock, SlaMetric
from .ticket_values import Priority, checked_member_id, priority_level


class EscalationLevel(StrEnum):
    WARNING = "warning"
    BREACH = "breach"


@dataclass(frozen=True)
class ClockReading:
    """One SLA clock as it stands at `at`, the instant the trigger fired.

    `state` is `MetricClock.state_at(at)`: a running clock is breached once `at` reaches its
    due_at, so a clock re-targeted to a later due time reads active again at the old instant.
    """

    metric: SlaMetric
    cycle: int
    at: datetime
    state: ClockState
    paused: bool
    stopped: bool
    warning_reached: bool
    due_at: datetime | None

    @classmethod
    def of(cls, clock: MetricClock, at: datetime) -> ClockReading:
        return cls(
            metric=clock.metric,
            cycle=clock.cycle,
            at=at,
            state=clock.state_at(at),
            paused=not clock.is_stopped and not clock.is_running,
            stopped=clock.is_stopped,
            warning_reached=bool(clock.view(at)["warning_reached"]),
            due_at=clock.due_at,
        )

    @property
    def running(self) -> bool:
        return not self.paused and not self.stopped

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": str(self.metric),
            "cycle": self.cycle,
            "at": self.at.isoformat(),
            "state": str(self.state),
            "paused": self.paused,
            "stopped": self.stopped,
            "warning_reached": self.warning_reached,
            "due_at": None if self.due_at is None else self.due_at.isoformat(),
        }


@dataclass(frozen=True)
class LevelActions:
    """What reaching one level asks for; all optional."""

    raise_priority_to: Priority | None = None
    transfer_to_team: str | None = None
    notify: bool = False
    # To the escalation team of the ticket's team (Team.escalation_team), if it has one.
    transfer_to_escalation_team: bool = False

    def __post_init__(self) -> None:
        if self.raise_priority_to is not None:
            object.__setattr__(self, "raise_priority_to", Priority(self.raise_priority_to))
        if self.transfer_to_team is not None:
            object.__setattr__(self, "transfer_to_team", checked_member_id(self.transfer_to_team, field="transfer_to_team"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "raise_priority_to": None if self.raise_priority_to is None else str(self.raise_priority_to),
            "transfer_to_team": self.transfer_to_team,
            "notify": self.notify,
            "transfer_to_escalation_team": self.transfer_to_escalation_team,
        }


@dataclass(frozen=True)
class EscalationSettings:
    """A policy's escalation: by default a warning notifies, and a breach makes the ticket urgent
    and notifies; transferring to an escalation team is the policy's choice."""

    on_warning: LevelActions = LevelActions(notify=True)
    on_breach: LevelActions = LevelActions(raise_priority_to=Priority.URGENT, notify=True)

    def for_level(self, level: EscalationLevel) -> LevelActions:
        return self.on_warning if level is EscalationLevel.WARNING else self.on_breach

    def to_dict(self) -> dict[str, Any]:
        return {"on_warning": self.on_warning.to_dict(), "on_breach": self.on_breach.to_dict()}

    @classmethod
    def from_dict(cls, raw: Any) -> EscalationSettings:
        """Checked settings from a policy's JSON (None: the defaults); a level left out does nothing."""
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise InvalidValue("escalation is an object of on_warning and on_breach", field="escalation")
        for key in raw:
            if key not in ("on_warning", "on_breach"):
                raise InvalidValue("escalation has only on_warning and on_breach", field=f"escalation.{str(key)[:40]}")
        return cls(on_warning=_level_actions(raw.get("on_warning"), "escalation.on_warning"),
                   on_breach=_level_actions(raw.get("on_breach"), "escalation.on_breach"))


ACTION_KEYS = ("raise_priority_to", "transfer_to_team", "notify", "transfer_to_escalation_team")


def _level_actions(raw: Any, field: str) -> LevelActions:
    if raw is None:
        return LevelActions()
    if not isinstance(raw, Mapping):
        raise InvalidValue(f"{field} is an object of {', '.join(ACTION_KEYS)}", field=field)
    for key in raw:
        if key not in ACTION_KEYS:
            raise InvalidValue(f"{field} has only {', '.join(ACTION_KEYS)}", field=f"{field}.{str(key)[:40]}")
    priority, team, notify = raw.get("raise_priority_to"), raw.get("transfer_to_team"), raw.get("notify", False)
    if priority is not None:
        try:
            priority = Priority(priority)
        except ValueError:
            raise InvalidValue(f"a priority is one of: {', '.join(Priority)}", field=f"{field}.raise_priority_to") from None
    if team is not None:
        if not isinstance(team, str) or any(ch < " " for ch in team):
            raise InvalidValue("a team id is text without control characters", field=f"{field}.transfer_to_team")
        team = checked_member_id(team, field=f"{field}.transfer_to_team")
    if not isinstance(notify, bool):
        raise InvalidValue("notify is true or false", field=f"{field}.notify")
    to_escalation_team = raw.get("transfer_to_escalation_team", False)
    if not isinstance(to_escalation_team, bool):
        raise InvalidValue("transfer_to_escalation_team is true or false", field=f"{field}.transfer_to_escalation_team")
    if to_escalation_team and team is not None:
        raise InvalidValue("give transfer_to_team or transfer_to_escalation_team, not both",
                           field=f"{field}.transfer_to_escalation_team")
    return LevelActions(raise_priority_to=priority, transfer_to_team=team, notify=notify,
                        transfer_to_escalation_team=to_escalation_team)


@dataclass(frozen=True)
class RaisePriority:
    to: Priority
    level: EscalationLevel
    reason: str


@dataclass(frozen=True)
class TransferToTeam:
    team: str
    level: EscalationLevel
    reason: str


@dataclass(frozen=True)
class Notify:
    level: EscalationLevel
    reason: str


EscalationAction = RaisePriority | TransferToTeam | Notify


@dataclass(frozen=True)
class EscalationDecision:
    """`levels` are the levels escalated now, to record as done for this clock even when they
    asked for no action (the ticket was urgent already), so they are never asked again."""

    actions: tuple[EscalationAction, ...]
    levels: tuple[EscalationLevel, ...]
    reason: str
    inputs: dict[str, Any]


def escalate(
    reading: ClockReading,
    settings: EscalationSettings,
    priority: Priority,
    team: str | None,
    done: Set[EscalationLevel],
    escalation_team: str | None = None,
) -> EscalationDecision:
    """The actions the clock's reached, not yet escalated levels ask for; none when the clock is
    paused or stopped, when it has not reached the level (re-targeted to a later due time), or
    when the level was escalated already.

    A clock found breached before its warning was escalated records the warning as done without
    its actions: the breach asks for more, and two notices for one late clock help nobody.
    Priority is only ever raised; a transfer to the team the ticket is in already is no action.
    """
    priority = Priority(priority)
    done = _checked_levels(done)
    inputs = {
        "clock": reading.to_dict(),
        "settings": settings.to_dict(),
        "priority": str(priority),
        "team": team,
        "escalation_team": escalation_team,
        "done": sorted(str(level) for level in done),
    }
    clock = f"{reading.metric} SLA (cycle {reading.cycle})" if reading.cycle > 1 else f"{reading.metric} SLA"

    if reading.stopped:
        return _nothing(f"{clock} stopped ({reading.state}): nothing to escalate", inputs)
    if reading.paused:
        return _nothing(f"{clock} is paused: nothing to escalate while it waits", inputs)
    breached = reading.state is ClockState.BREACHED
    if not breached and not reading.warning_reached:
        due = "never" if reading.due_at is None else reading.due_at.isoformat()
        return _nothing(f"{clock} has reached no escalation level at {reading.at.isoformat()} (due {due})", inputs)
    reached = list(EscalationLevel) if breached else [EscalationLevel.WARNING]
    levels = [level for level in reached if level not in done]
    if not levels:
        return _nothing(f"{clock} {reached[-1]} was escalated already", inputs)

    actions: list[EscalationAction] = []
    told = []
    for level in levels:
        if breached and level is EscalationLevel.WARNING:
            continue  # superseded by the breach, see above
        wanted = settings.for_level(level)
        why = f"{clock} {_reached_phrase(level)}" + ("" if reading.due_at is None else f" (due {reading.due_at.isoformat()})")
        asked = []
        if wanted.raise_priority_to is not None and priority_level(wanted.raise_priority_to) > priority_level(priority):
            asked.append(f"priority {priority} -> {wanted.raise_priority_to}")
            actions.append(RaisePriority(wanted.raise_priority_to, level, f"{why}: {asked[-1]}"))
            priority = wanted.raise_priority_to
        target = wanted.transfer_to_team or (escalation_team if wanted.transfer_to_escalation_team else None)
        if target is not None and target != team:
            asked.append(f"transfer to {'escalation ' if target != wanted.transfer_to_team else ''}team {target}")
            actions.append(TransferToTeam(target, level, f"{why}: {asked[-1]}"))
            team = target
        if wanted.notify:
            asked.append("notify")
            actions.append(Notify(level, why))
        told.append(f"{why}: " + (", ".join(asked) if asked else "the ticket already has what the policy asks"))
    reason = "; ".join(told) or f"{clock} breached: its warning is recorded as passed"
    return EscalationDecision(actions=tuple(actions), levels=tuple(levels), reason=reason, inputs=inputs)


def _reached_phrase(level: EscalationLevel) -> str:
    return "breached" if level is EscalationLevel.BREACH else "reached its warning"


def _nothing(reason: str, inputs: dict[str, Any]) -> EscalationDecision:
    return EscalationDecision(actions=(), levels=(), reason=reason, inputs=inputs)


def _checked_levels(raw: Set[Any]) -> frozenset[EscalationLevel]:
    try:
        return frozenset(EscalationLevel(level) for level in raw)
    except ValueError:
        raise InvalidValue(f"escalation levels are {', '.join(EscalationLevel)}", field="done") from None
