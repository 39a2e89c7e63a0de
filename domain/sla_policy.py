"""SLA policies: which tickets a policy covers, and the targets it sets for them.

A policy is an aggregate so that every change to it is an audited event. Its events carry
plain JSON values (str, int, list, dict) in one canonical form, so read models can use the
stored JSON as it is. `select_policy` is the pure rule that picks a ticket's policy.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from uuid import uuid4

from eventsourcing.domain import Aggregate

from . import names
from .audit import AuditMeta
from .business_hours import BusinessCalendar
from .channel import Channel
from .errors import IllegalTransition, InvalidValue
from .escalation import EscalationSettings
from .ticket_values import Category, Priority

MAX_NAME = 120
MAX_RANK = 10_000
MAX_TARGET_SECONDS = 365 * 24 * 3600
MAX_TIER = 40
DEFAULT_WARNING_PERCENT = 75
TWENTY_FOUR_SEVEN: dict[str, Any] = {"kind": "24x7"}

# What a policy can match on, and the values each may take (None: any string, a customer tier).
MATCH_KEYS: dict[str, type | None] = {
    "priorities": Priority,
    "channels": Channel,
    "categories": Category,
    "customer_tiers": None,
}
TARGET_KEYS = ("first_reply", "next_reply", "periodic_update", "resolution")


# -- the policy's terms, checked and in canonical form ---------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def checked_name(raw: Any) -> str:
    return names.checked_name(raw, field="name", what="a policy name", max_length=MAX_NAME)


def checked_rank(raw: Any) -> int:
    if not _is_int(raw) or not 0 <= raw <= MAX_RANK:
        raise InvalidValue(f"a rank is a whole number from 0 to {MAX_RANK}; lower ranks are tried first", field="rank")
    return raw


def checked_warning_percent(raw: Any) -> int:
    if not _is_int(raw) or not 1 <= raw <= 99:
        raise InvalidValue("warning_percent is a whole number from 1 to 99", field="warning_percent")
    return raw


def _tier(raw: Any) -> str:
    tier = raw.strip().lower() if isinstance(raw, str) else ""
    if not tier or len(tier) > MAX_TIER:
        raise InvalidValue(f"a customer tier has 1 to {MAX_TIER} characters", field="match.customer_tiers")
    return tier


def checked_match(raw: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """Each criterion as a sorted list of distinct values; a missing or empty one matches any value."""
    raw = {} if raw is None else raw
    if not isinstance(raw, Mapping):
        raise InvalidValue("match is an object of priorities, channels, categories and customer_tiers", field="match")
    for key in raw:
        if key not in MATCH_KEYS:
            raise InvalidValue(f"match has only {', '.join(MATCH_KEYS)}", field=f"match.{str(key)[:40]}")
    match: dict[str, list[str]] = {}
    for key, kind in MATCH_KEYS.items():
        field = f"match.{key}"
        values = raw.get(key)
        values = [] if values is None else values
        if not isinstance(values, (list, tuple)):
            raise InvalidValue(f"{field} is a list", field=field)
        if kind is None:
            match[key] = sorted({_tier(v) for v in values})
            continue
        members = set()
        for value in values:
            try:
                members.add(kind(value.strip().lower() if isinstance(value, str) else value).value)
            except (ValueError, TypeError):
                allowed = ", ".join(m.value for m in kind)  # type: ignore[attr-defined]
                raise InvalidValue(f"{value!r} is not one of: {allowed}", field=field) from None
        match[key] = sorted(members)
    return match


def checked_targets(raw: Mapping[str, Any] | None) -> dict[str, int | None]:
    """Each target in whole seconds of business time, or None when it is not measured."""
    if not isinstance(raw, Mapping):
        raise InvalidValue(f"targets is an object of {', '.join(TARGET_KEYS)} in seconds", field="targets")
    for key in raw:
        if key not in TARGET_KEYS:
            raise InvalidValue(f"targets has only {', '.join(TARGET_KEYS)}", field=f"targets.{str(key)[:40]}")
    targets: dict[str, int | None] = {}
    for key in TARGET_KEYS:
        seconds = raw.get(key)
        if seconds is not None and (not _is_int(seconds) or not 0 < seconds <= MAX_TARGET_SECONDS):
            raise InvalidValue(
                f"a target is a whole number of seconds above 0 and at most 365 days ({MAX_TARGET_SECONDS}), or null",
                field=f"targets.{key}",
            )
        targets[key] = seconds
    if all(seconds is None for seconds in targets.values()):
        raise InvalidValue("a policy sets at least one target", field="targets")
    return targets


def targets_in_minutes_and_seconds(targets: Mapping[str, int | None]) -> dict[str, int | float | None]:
    """Each target as `<metric>_minutes` (whole where it divides) and `<metric>_seconds`, as APIs show them."""
    shown: dict[str, int | float | None] = {}
    for key in TARGET_KEYS:
        seconds = targets.get(key)
        shown[f"{key}_minutes"] = None if seconds is None else seconds // 60 if seconds % 60 == 0 else seconds / 60
        shown[f"{key}_seconds"] = seconds
    return shown


def _checked_calendar(raw: Any) -> dict[str, Any]:
    """The calendar checked and in canonical form by its one owner, BusinessCalendar; None is 24x7."""
    if raw is None:
        return dict(TWENTY_FOUR_SEVEN)
    return BusinessCalendar.from_dict(raw, field="calendar").to_dict()


def checked_terms(
    name: Any, rank: Any, match: Any, targets: Any, warning_percent: Any, calendar: Any, escalation: Any = None
) -> dict[str, Any]:
    """A policy's full terms in canonical form, as its Defined and Revised events carry them."""
    return {
        "name": checked_name(name),
        "rank": checked_rank(rank),
        "match": checked_match(match),
        "targets": checked_targets(targets),
        "warning_percent": checked_warning_percent(warning_percent),
        "calendar": _checked_calendar(calendar),
        "escalation": EscalationSettings.from_dict(escalation).to_dict(),
    }


# Version 1 of Defined and Revised had no escalation: the policies defined then escalate as a
# policy does that leaves it out (EscalationSettings' defaults). How an event changes shape:
# README, "Changing an event".
DEFAULT_ESCALATION = EscalationSettings().to_dict()


def _add_default_escalation(state: dict[str, Any]) -> None:
    state["escalation"] = _copied(DEFAULT_ESCALATION)


# -- the aggregate ---------------------------------------------------------------------------


class SlaPolicy(Aggregate):
    class Event(Aggregate.Event):
        meta: AuditMeta

    class Defined(Event, Aggregate.Created):
        class_version = 2
        name: str
        rank: int
        match: dict[str, list[str]]
        targets: dict[str, int | None]
        warning_percent: int
        calendar: dict[str, Any]
        escalation: dict[str, Any]

        upcast_v1_v2 = staticmethod(_add_default_escalation)

    class Revised(Event):
        """A full new version of the policy's terms."""

        class_version = 2
        name: str
        rank: int
        match: dict[str, list[str]]
        targets: dict[str, int | None]
        warning_percent: int
        calendar: dict[str, Any]
        escalation: dict[str, Any]

        upcast_v1_v2 = staticmethod(_add_default_escalation)

        def apply(self, policy: SlaPolicy) -> None:
            policy.name = self.name
            policy.rank = self.rank
            policy.match = self.match
            policy.targets = self.targets
            policy.warning_percent = self.warning_percent
            policy.calendar = self.calendar
            policy.escalation = self.escalation

    class Retired(Event):
        def apply(self, policy: SlaPolicy) -> None:
            policy.retired = True

    def __init__(
        self,
        meta: AuditMeta,
        name: str,
        rank: int,
        match: dict[str, list[str]],
        targets: dict[str, int | None],
        warning_percent: int,
        calendar: dict[str, Any],
        escalation: dict[str, Any],
    ) -> None:
        self.tenant = meta.tenant
        self.name = name
        self.rank = rank
        self.match = match
        self.targets = targets
        self.warning_percent = warning_percent
        self.calendar = calendar
        self.escalation = escalation
        self.retired = False

    @classmethod
    def define(
        cls,
        meta: AuditMeta,
        at: datetime,
        name: str,
        rank: int,
        match: Mapping[str, Any] | None,
        targets: Mapping[str, Any],
        warning_percent: int = DEFAULT_WARNING_PERCENT,
        calendar: Mapping[str, Any] | None = None,
        escalation: Mapping[str, Any] | None = None,
    ) -> SlaPolicy:
        terms = checked_terms(name, rank, match, targets, warning_percent, calendar, escalation)
        return cls._create(cls.Defined, id=uuid4(), timestamp=at, meta=meta, **terms)

    def terms(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rank": self.rank,
            "match": self.match,
            "targets": self.targets,
            "warning_percent": self.warning_percent,
            "calendar": self.calendar,
            "escalation": self.escalation,
        }

    def _require_active(self) -> None:
        if self.retired:
            raise IllegalTransition("the SLA policy is retired; define a new one instead", field="policy_id")

    def revise(
        self,
        meta: AuditMeta,
        at: datetime,
        name: str,
        rank: int,
        match: Mapping[str, Any] | None,
        targets: Mapping[str, Any],
        warning_percent: int = DEFAULT_WARNING_PERCENT,
        calendar: Mapping[str, Any] | None = None,
        escalation: Mapping[str, Any] | None = None,
    ) -> None:
        """Replace every term at once; the same terms again are no change and no event."""
        self._require_active()
        terms = checked_terms(name, rank, match, targets, warning_percent, calendar, escalation)
        if terms != self.terms():
            self.trigger_event(self.Revised, timestamp=at, meta=meta, **terms)

    def retire(self, meta: AuditMeta, at: datetime) -> None:
        """From now on the policy matches nothing; retiring it again changes nothing."""
        if not self.retired:
            self.trigger_event(self.Retired, timestamp=at, meta=meta)

    def snapshot(self) -> SlaPolicySnapshot:
        return SlaPolicySnapshot(
            policy_id=str(self.id),
            version=self.version,
            name=self.name,
            rank=self.rank,
            match={k: list(v) for k, v in self.match.items()},
            targets=dict(self.targets),
            warning_percent=self.warning_percent,
            calendar=_copied(self.calendar),
            escalation=_copied(self.escalation),
            defined_at=self.created_on,
            retired=self.retired,
        )


def _copied(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copied(v) for v in value]
    return value


# -- choosing a ticket's policy --------------------------------------------------------------


@dataclass(frozen=True)
class SlaPolicySnapshot:
    """One version of a policy, as the selection rule and read models see it."""

    policy_id: str
    version: int
    name: str
    rank: int
    match: dict[str, list[str]]
    targets: dict[str, int | None]
    warning_percent: int
    calendar: dict[str, Any]
    defined_at: datetime
    retired: bool = False
    escalation: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_ESCALATION))

    def matches(self, priority: str, channel: str, category: str | None, customer_tier: str | None) -> bool:
        """Whether a ticket with these attributes falls under the policy; a retired policy matches nothing."""
        if self.retired:
            return False
        tier = customer_tier.strip().lower() if customer_tier else None
        return (
            _admits(self.match.get("priorities"), str(priority))
            and _admits(self.match.get("channels"), str(channel))
            and _admits(self.match.get("categories"), str(category) if category else None)
            and _admits(self.match.get("customer_tiers"), tier)
        )

    @property
    def order_key(self) -> tuple[int, datetime, str]:
        return (self.rank, self.defined_at, self.policy_id)


def _admits(allowed: list[str] | None, value: str | None) -> bool:
    return not allowed or (value is not None and value in allowed)


# What a ticket is measured under while its tenant has no active policy at all: every promise
# is visible from the first ticket on. Once a tenant defines policies they alone decide (a
# catch-all policy, with an empty match, covers the rest). Changing these terms is a new
# version, so a rebuild would measure old tickets anew.
DEFAULT_POLICY = SlaPolicySnapshot(
    policy_id="default",
    version=1,
    name="Default (the tenant has no SLA policy)",
    rank=10_001,
    match={key: [] for key in MATCH_KEYS},
    targets={"first_reply": 8 * 3600, "next_reply": 8 * 3600, "periodic_update": None, "resolution": 72 * 3600},
    warning_percent=75,
    calendar={"kind": "24x7"},
    defined_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
)


def select_policy(
    policies: Iterable[SlaPolicySnapshot],
    priority: str,
    channel: str,
    category: str | None,
    customer_tier: str | None,
    default: SlaPolicySnapshot | None = DEFAULT_POLICY,
) -> SlaPolicySnapshot | None:
    """The first active policy that matches, by (rank, defined_at, policy_id); None when none
    does; `default` when there is no active policy at all."""
    active = [p for p in policies if not p.retired]
    if not active:
        return default
    matching = (p for p in active if p.matches(priority, channel, category, customer_tier))
    return min(matching, key=lambda p: p.order_key, default=None)
