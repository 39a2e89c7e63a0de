"""SLA clocks: the metrics a ticket is measured on, and the per-ticket state machine that runs them.

`TicketSla` is fed the ticket's facts in order (opened, customer messages, public agent replies,
status changes, policy changes) and keeps one `MetricClock` per instance of each targeted metric.
Clocks count business time of the terms' calendar. Everything is deterministic, so a read model
rebuilt from the event log equals itself, and it round-trips through plain JSON.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from .business_hours import BusinessCalendar
from .errors import InvalidValue


class SlaMetric(StrEnum):
    FIRST_REPLY = "first_reply"
    NEXT_REPLY = "next_reply"
    PERIODIC_UPDATE = "periodic_update"
    RESOLUTION = "resolution"


class ClockState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    FULFILLED = "fulfilled"
    BREACHED = "breached"


_METRIC_ORDER = {metric: index for index, metric in enumerate(SlaMetric)}
_STATUSES = frozenset({"new", "open", "pending", "on_hold", "solved", "closed"})
_ACTIVE = frozenset({"new", "open"})
_PAUSING = frozenset({"pending", "on_hold"})
_STOPPING = frozenset({"solved", "closed"})
# Only these wait for the customer or a third party, so only these pause in pending / on hold.
_PAUSABLE = frozenset({SlaMetric.PERIODIC_UPDATE, SlaMetric.RESOLUTION})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _aware(moment: Any, field: str) -> datetime:
    """The instant in UTC: aware datetimes sharing a zone compare and subtract by wall clock."""
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidValue("an instant has a time zone (a naive datetime is ambiguous)", field=field)
    return moment.astimezone(UTC)


# Business time is kept exact to the microsecond (timedelta) while working, and as float seconds
# at the edges: a float of whole microseconds below ~285 years converts back without loss.
def _td(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _parsed_instant(raw: Any, field: str) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        raise InvalidValue(f"an ISO 8601 instant, not {raw!r}", field=field) from None
    return _aware(moment, field)


@dataclass(frozen=True)
class SlaTerms:
    """What a ticket is measured under: targets in business seconds; an absent metric is not measured."""

    policy_id: str
    policy_version: int
    targets: Mapping[SlaMetric, int]
    warning_percent: int
    calendar: BusinessCalendar

    def __post_init__(self) -> None:
        if not isinstance(self.policy_id, str) or not _is_int(self.policy_version):
            raise InvalidValue("a policy is named by its id (text) and version (a whole number)", field="policy_id")
        if not isinstance(self.targets, Mapping):
            raise InvalidValue("targets map metrics to seconds", field="targets")
        targets: dict[SlaMetric, int] = {}
        for key, seconds in self.targets.items():
            try:
                metric = SlaMetric(key)
            except ValueError:
                raise InvalidValue(f"{key!r} is not one of {', '.join(SlaMetric)}", field="targets") from None
            if not _is_int(seconds) or seconds <= 0:
                raise InvalidValue("a target is a whole number of seconds above 0", field=f"targets.{metric}")
            targets[metric] = seconds
        # One canonical order, so equal terms are equal dicts and equal JSON.
        object.__setattr__(self, "targets", {m: targets[m] for m in SlaMetric if m in targets})
        if not _is_int(self.warning_percent) or not 1 <= self.warning_percent <= 99:
            raise InvalidValue("warning_percent is a whole number from 1 to 99", field="warning_percent")
        if not isinstance(self.calendar, BusinessCalendar):
            raise InvalidValue("a calendar is a BusinessCalendar", field="calendar")

    def __hash__(self) -> int:
        return hash((self.policy_id, self.policy_version, tuple(self.targets.items()), self.warning_percent, self.calendar))

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id,
            "policy_version": self.policy_version,
            "targets": {str(metric): seconds for metric, seconds in self.targets.items()},
            "warning_percent": self.warning_percent,
            "calendar": self.calendar.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SlaTerms:
        return cls(
            policy_id=data["policy_id"],
            policy_version=data["policy_version"],
            targets=data["targets"],
            warning_percent=data["warning_percent"],
            calendar=BusinessCalendar.from_dict(data["calendar"]),
        )


@dataclass
class MetricClock:
    """One instance of one metric; next_reply and periodic_update have cycles 1, 2, ...

    elapsed_seconds is the business time accumulated before running_since. While running, due_at
    and warning_at are the instants elapsed reaches the target and its warning share; when paused
    or stopped they keep their last value. A threshold reached before a pause or stop keeps the
    instant it was reached. due_at is None when the calendar has no time to reach it (5 years).
    """

    metric: SlaMetric
    cycle: int
    target_seconds: int
    started_at: datetime
    elapsed_seconds: float
    running_since: datetime | None
    stopped_at: datetime | None
    due_at: datetime | None
    warning_at: datetime | None
    breached_at: datetime | None
    warning_percent: int
    calendar: BusinessCalendar

    @property
    def is_stopped(self) -> bool:
        return self.stopped_at is not None

    @property
    def is_running(self) -> bool:
        return self.running_since is not None

    @property
    def _target(self) -> timedelta:
        return timedelta(seconds=self.target_seconds)

    @property
    def _warning(self) -> timedelta:
        return timedelta(microseconds=self.target_seconds * self.warning_percent * 10_000)

    def _elapsed(self, now: datetime) -> timedelta:
        elapsed = _td(self.elapsed_seconds)
        if self.running_since is not None:
            elapsed += _td(self.calendar.business_seconds(self.running_since, now))
        return elapsed

    def elapsed_at(self, now: datetime) -> float:
        return self._elapsed(_aware(now, "now")).total_seconds()

    def state_at(self, now: datetime) -> ClockState:
        now = _aware(now, "now")
        if self.stopped_at is not None:
            return ClockState.FULFILLED if self.breached_at is None else ClockState.BREACHED
        if self.running_since is None:
            return ClockState.BREACHED if _td(self.elapsed_seconds) >= self._target else ClockState.PAUSED
        if _td(self.elapsed_seconds) >= self._target or (self.due_at is not None and now >= self.due_at):
            return ClockState.BREACHED
        return ClockState.ACTIVE

    def view(self, now: datetime) -> dict[str, Any]:
        """The clock as an API shows it at `now`."""
        now = _aware(now, "now")
        elapsed = self._elapsed(now)
        state = self.state_at(now)
        breached_at = self.breached_at if self.stopped_at is not None else (self.due_at if state is ClockState.BREACHED else None)
        return {
            "metric": str(self.metric),
            "cycle": self.cycle,
            "target_seconds": self.target_seconds,
            "state": str(state),
            "elapsed_seconds": elapsed.total_seconds(),
            "started_at": _iso(self.started_at),
            "stopped_at": _iso(self.stopped_at),
            "due_at": _iso(self.due_at),
            "warning_at": _iso(self.warning_at),
            "warning_reached": elapsed >= self._warning,
            "breached_at": _iso(breached_at),
        }

    # -- transitions, driven by TicketSla ---------------------------------------------------------

    def _checkpoint(self, at: datetime) -> None:
        """Fold the business time run so far into elapsed_seconds, as if it had just resumed at `at`."""
        if self.running_since is not None and at > self.running_since:
            self.elapsed_seconds = self._elapsed(at).total_seconds()
            self.running_since = at

    def _schedule(self, at: datetime, reached_target: timedelta, reached_warning: timedelta) -> None:
        """Due and warning instants for a clock running from `at` with its current elapsed.

        A threshold already passed keeps the instant it was reached if it had been reached under
        the thresholds in force before (`reached_*`); if it is passed only now (a shorter target),
        it is reached at `at`.
        """
        elapsed = _td(self.elapsed_seconds)
        self.due_at = self._instant(at, elapsed, self._target, self.due_at, elapsed >= reached_target)
        self.warning_at = self._instant(at, elapsed, self._warning, self.warning_at, elapsed >= reached_warning)

    def _instant(
        self, at: datetime, elapsed: timedelta, threshold: timedelta, last: datetime | None, was_reached: bool
    ) -> datetime | None:
        if elapsed < threshold:
            try:
                return self.calendar.add_business_seconds(at, (threshold - elapsed).total_seconds())
            except InvalidValue:
                return None  # no business time within the scan: it is never due
        if was_reached and last is not None:
            return last
        return at

    def _resume(self, at: datetime) -> None:
        if self.stopped_at is None and self.running_since is None:
            self.running_since = at
            self._schedule(at, self._target, self._warning)

    def _pause(self, at: datetime) -> None:
        if self.running_since is not None:
            self._checkpoint(at)
            self.running_since = None

    def _stop(self, at: datetime) -> None:
        if self.stopped_at is not None:
            return
        self._pause(at)
        self.stopped_at = at
        if _td(self.elapsed_seconds) >= self._target:
            self.breached_at = self.due_at if self.due_at is not None else at

    def _reopen(self, at: datetime) -> None:
        """A stopped clock counts on, from its elapsed, as if it had been paused."""
        if self.stopped_at is not None:
            self.stopped_at = None
            self.breached_at = None
            self._resume(at)

    def _retarget(self, target_seconds: int, warning_percent: int, calendar: BusinessCalendar, at: datetime) -> None:
        if (target_seconds, warning_percent, calendar) == (self.target_seconds, self.warning_percent, self.calendar):
            return
        reached_target, reached_warning = self._target, self._warning
        # Time run so far was business time under the old calendar.
        self._checkpoint(at)
        self.target_seconds, self.warning_percent, self.calendar = target_seconds, warning_percent, calendar
        # A paused clock gets the instants it would have if it resumed now.
        anchor = at if self.running_since is None else max(at, self.running_since)
        self._schedule(anchor, reached_target, reached_warning)

    # -- storage ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": str(self.metric),
            "cycle": self.cycle,
            "target_seconds": self.target_seconds,
            "started_at": _iso(self.started_at),
            "elapsed_seconds": self.elapsed_seconds,
            "running_since": _iso(self.running_since),
            "stopped_at": _iso(self.stopped_at),
            "due_at": _iso(self.due_at),
            "warning_at": _iso(self.warning_at),
            "breached_at": _iso(self.breached_at),
            "warning_percent": self.warning_percent,
            "calendar": self.calendar.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, calendar: BusinessCalendar | None = None) -> MetricClock:
        """`calendar`, when given, stands for data["calendar"] (TicketSla stores each calendar once)."""
        try:
            return cls(
                metric=SlaMetric(data["metric"]),
                cycle=int(data["cycle"]),
                target_seconds=int(data["target_seconds"]),
                started_at=_parsed_instant(data["started_at"], "started_at"),  # type: ignore[arg-type]
                elapsed_seconds=float(data["elapsed_seconds"]),
                running_since=_parsed_instant(data["running_since"], "running_since"),
                stopped_at=_parsed_instant(data["stopped_at"], "stopped_at"),
                due_at=_parsed_instant(data["due_at"], "due_at"),
                warning_at=_parsed_instant(data["warning_at"], "warning_at"),
                breached_at=_parsed_instant(data["breached_at"], "breached_at"),
                warning_percent=int(data["warning_percent"]),
                calendar=calendar if calendar is not None else BusinessCalendar.from_dict(data["calendar"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidValue(f"not a stored SLA clock: {error}", field="clock") from None


class TicketSla:
    """The SLA clocks of one ticket, driven by its facts in order. terms None: nothing is measured.

    Facts before `opened` are ignored. Status changes follow the ticket lifecycle but are not
    policed here: the ticket aggregate does that. Calls are expected in time order; an instant
    earlier than a clock's last one adds no business time.
    """

    def __init__(self, terms: SlaTerms | None) -> None:
        if terms is not None and not isinstance(terms, SlaTerms):
            raise InvalidValue("terms are SlaTerms or None", field="terms")
        self._terms = terms
        self._clocks: list[MetricClock] = []
        self._opened_at: datetime | None = None
        self._status: str | None = None
        self._first_reply_at: datetime | None = None
        self._last_reply_at: datetime | None = None
        # The oldest customer message no public agent reply has answered yet (after the first reply).
        self._unanswered_since: datetime | None = None

    # -- facts ------------------------------------------------------------------------------------

    def opened(self, at: datetime) -> None:
        at = _aware(at, "at")
        if self._opened_at is not None:
            return
        self._opened_at = at
        self._status = "new"
        for metric in (SlaMetric.FIRST_REPLY, SlaMetric.RESOLUTION):
            self._start(metric, at, at)

    def customer_message(self, at: datetime) -> None:
        at = _aware(at, "at")
        if self._opened_at is None or self._status == "closed":
            return
        # Before the first reply the customer is waiting on first_reply already.
        if self._first_reply_at is None or self._unanswered_since is not None:
            return
        self._unanswered_since = at
        if self._status not in _STOPPING:
            self._start(SlaMetric.NEXT_REPLY, at, at)

    def agent_reply(self, at: datetime) -> None:
        """A public agent reply (internal notes are not replies)."""
        at = _aware(at, "at")
        if self._opened_at is None or self._status == "closed":
            return
        if self._first_reply_at is None:
            self._first_reply_at = at
            self._stop_current(SlaMetric.FIRST_REPLY, at)
        self._last_reply_at = at
        self._unanswered_since = None
        self._stop_current(SlaMetric.NEXT_REPLY, at)
        self._stop_current(SlaMetric.PERIODIC_UPDATE, at)
        if self._status not in _STOPPING:
            self._start(SlaMetric.PERIODIC_UPDATE, at, at)

    def status_changed(self, to_status: str, at: datetime) -> None:
        at = _aware(at, "at")
        status = str(to_status)
        if status not in _STATUSES:
            raise InvalidValue(f"{to_status!r} is not one of {', '.join(sorted(_STATUSES))}", field="status")
        if self._opened_at is None or status == self._status or self._status == "closed":
            return
        was = self._status
        self._status = status
        if status in _STOPPING:
            for clock in self._clocks:
                clock._stop(at)
            self._unanswered_since = None
            return
        if was == "solved":
            self._reopen(at)
        for clock in self._clocks:
            if clock.metric in _PAUSABLE and not clock.is_stopped:
                if status in _PAUSING:
                    clock._pause(at)
                else:
                    clock._resume(at)

    def retarget(self, terms: SlaTerms | None, at: datetime) -> None:
        """The ticket's policy or targets changed: clocks still counting take the new terms."""
        at = _aware(at, "at")
        if terms is not None and not isinstance(terms, SlaTerms):
            raise InvalidValue("terms are SlaTerms or None", field="terms")
        self._terms = terms
        targets = terms.targets if terms is not None else {}
        kept = []
        for clock in self._clocks:
            if clock.is_stopped:
                kept.append(clock)
            elif clock.metric in targets:
                assert terms is not None
                clock._retarget(targets[clock.metric], terms.warning_percent, terms.calendar, at)
                kept.append(clock)
            # else: the metric is no longer measured; its unfinished clock goes.
        self._clocks = kept
        if self._opened_at is None or self._status in _STOPPING:
            return
        # A newly measured metric starts where it naturally would have (keep it simple: pauses
        # before now are not replayed, the clock only pauses from now if the status says so).
        if self._first_reply_at is None:
            self._start(SlaMetric.FIRST_REPLY, self._opened_at, at)
        self._start(SlaMetric.RESOLUTION, self._opened_at, at)
        if self._unanswered_since is not None:
            self._start(SlaMetric.NEXT_REPLY, self._unanswered_since, at)
        if self._last_reply_at is not None:
            self._start(SlaMetric.PERIODIC_UPDATE, self._last_reply_at, at)

    # -- reading ----------------------------------------------------------------------------------

    @property
    def terms(self) -> SlaTerms | None:
        return self._terms

    @property
    def clocks(self) -> list[MetricClock]:
        """Copies of every clock, current and completed, by metric then cycle."""
        return [replace(clock) for clock in sorted(self._clocks, key=lambda c: (_METRIC_ORDER[c.metric], c.cycle))]

    def views(self, now: datetime) -> list[dict[str, Any]]:
        return [clock.view(now) for clock in self.clocks]

    # -- internals --------------------------------------------------------------------------------

    def _current(self, metric: SlaMetric) -> MetricClock | None:
        """The metric's clock that has not stopped, if any."""
        for clock in self._clocks:
            if clock.metric is metric and not clock.is_stopped:
                return clock
        return None

    def _stop_current(self, metric: SlaMetric, at: datetime) -> None:
        clock = self._current(metric)
        if clock is not None:
            clock._stop(at)

    def _start(self, metric: SlaMetric, since: datetime, at: datetime) -> None:
        """Start `metric` from `since` (the fact that starts it) unless it is untargeted, already
        counting, or (first_reply, resolution: one instance each) already there; pause it at `at`
        if the status pauses it."""
        terms = self._terms
        if terms is None or metric not in terms.targets or self._current(metric) is not None:
            return
        if metric in (SlaMetric.FIRST_REPLY, SlaMetric.RESOLUTION) and any(c.metric is metric for c in self._clocks):
            return
        cycle = 1 + max((c.cycle for c in self._clocks if c.metric is metric), default=0)
        clock = MetricClock(
            metric=metric,
            cycle=cycle,
            target_seconds=terms.targets[metric],
            started_at=since,
            elapsed_seconds=0.0,
            running_since=None,
            stopped_at=None,
            due_at=None,
            warning_at=None,
            breached_at=None,
            warning_percent=terms.warning_percent,
            calendar=terms.calendar,
        )
        # Started running then paused at once, so "reply, then pending" and "pending, then
        # reply" at one instant leave the same state.
        clock._resume(since)
        if metric in _PAUSABLE and self._status in _PAUSING:
            clock._pause(max(at, since))
        self._clocks.append(clock)

    def _reopen(self, at: datetime) -> None:
        """Solved, then reopened: resolution counts on from its elapsed under the current terms;
        a customer still waiting gets a next_reply cycle from now."""
        terms = self._terms
        resolution = next((c for c in self._clocks if c.metric is SlaMetric.RESOLUTION), None)
        if terms is not None and SlaMetric.RESOLUTION in terms.targets:
            if resolution is None:
                self._start(SlaMetric.RESOLUTION, self._opened_at, at)  # type: ignore[arg-type]
            else:
                resolution._reopen(at)
                resolution._retarget(terms.targets[SlaMetric.RESOLUTION], terms.warning_percent, terms.calendar, at)
        if self._unanswered_since is not None:
            self._start(SlaMetric.NEXT_REPLY, at, at)

    # -- storage ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        calendars: list[BusinessCalendar] = []
        clocks = []
        for clock in self.clocks:
            if clock.calendar not in calendars:
                calendars.append(clock.calendar)
            stored = clock.to_dict()
            stored["calendar"] = calendars.index(clock.calendar)
            clocks.append(stored)
        return {
            "terms": None if self._terms is None else self._terms.to_dict(),
            "opened_at": _iso(self._opened_at),
            "status": self._status,
            "first_reply_at": _iso(self._first_reply_at),
            "last_reply_at": _iso(self._last_reply_at),
            "unanswered_since": _iso(self._unanswered_since),
            # Each calendar once; a clock names its calendar by index in this list.
            "calendars": [calendar.to_dict() for calendar in calendars],
            "clocks": clocks,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TicketSla:
        terms = data.get("terms")
        sla = cls(None if terms is None else SlaTerms.from_dict(terms))
        sla._opened_at = _parsed_instant(data.get("opened_at"), "opened_at")
        sla._status = data.get("status")
        sla._first_reply_at = _parsed_instant(data.get("first_reply_at"), "first_reply_at")
        sla._last_reply_at = _parsed_instant(data.get("last_reply_at"), "last_reply_at")
        sla._unanswered_since = _parsed_instant(data.get("unanswered_since"), "unanswered_since")
        calendars = [BusinessCalendar.from_dict(raw) for raw in data.get("calendars", [])]
        sla._clocks = [MetricClock.from_dict(raw, calendar=calendars[raw["calendar"]]) for raw in data.get("clocks", [])]
        return sla

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TicketSla):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TicketSla(terms={self._terms!r}, status={self._status!r}, clocks={len(self._clocks)})"
