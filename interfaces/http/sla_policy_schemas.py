"""Request and response bodies of /v1/sla-policies.

Targets travel in whole minutes over HTTP and in seconds in the domain. The calendar is
passed through as given: the domain checks it and names the field at fault.
"""
from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.names import NAME_RULE
from ledgerdesk.domain.ticket_values import Category, Priority

from .inputs import MAX_VERSION
from .schemas import Body, Reason, TeamRef, Whole

MAX_TARGET_MINUTES = 365 * 24 * 60
Minutes = Annotated[
    Whole | None,
    Field(default=None, ge=1, le=MAX_TARGET_MINUTES, description="whole minutes of business time; null: not measured"),
]
Tier = Annotated[str, Field(min_length=1, max_length=40)]


class SlaMatchIn(Body):
    """Which tickets the policy covers; an empty list matches any value."""

    priorities: list[Priority] = Field(default_factory=list, max_length=len(Priority))
    channels: list[Channel] = Field(default_factory=list, max_length=len(Channel))
    categories: list[Category] = Field(default_factory=list, max_length=len(Category))
    customer_tiers: list[Tier] = Field(default_factory=list, max_length=100)


class SlaTargetsIn(Body):
    first_reply_minutes: Minutes = None
    next_reply_minutes: Minutes = None
    periodic_update_minutes: Minutes = None
    resolution_minutes: Minutes = None

    def in_seconds(self) -> dict[str, int | None]:
        return {
            "first_reply": _seconds(self.first_reply_minutes),
            "next_reply": _seconds(self.next_reply_minutes),
            "periodic_update": _seconds(self.periodic_update_minutes),
            "resolution": _seconds(self.resolution_minutes),
        }


def _seconds(minutes: int | None) -> int | None:
    return None if minutes is None else minutes * 60


class EscalationLevelIn(Body):
    raise_priority_to: Priority | None = Field(default=None, description="raised only, never lowered")
    transfer_to_team: TeamRef | None = Field(
        default=None, description="the team whose queue takes the ticket (its escalation team)")
    transfer_to_escalation_team: StrictBool = Field(
        default=False, description="to the escalation team of the ticket's team (PUT /v1/teams/{team_id}), if it has one")
    notify: StrictBool = Field(default=False, description="the Ticket.Escalated event asks whoever watches the feed to tell a person")


class EscalationIn(Body):
    """What a clock of this policy reaching its warning, and its due time, does to the ticket.
    A level left out does nothing."""

    on_warning: EscalationLevelIn | None = None
    on_breach: EscalationLevelIn | None = None


class SlaPolicyIn(Body):
    name: Annotated[str, Field(min_length=1, max_length=120, description=NAME_RULE)]
    rank: Whole = Field(default=100, ge=0, le=10_000, description="lower ranks are tried first")
    match: SlaMatchIn = Field(default_factory=SlaMatchIn)
    targets: SlaTargetsIn
    warning_percent: Whole = Field(default=75, ge=1, le=99, description="warn when this share of a target is used")
    calendar: dict[str, Any] = Field(
        default_factory=lambda: {"kind": "24x7"},
        description='{"kind": "24x7"} or {"kind": "business_hours", "timezone", "weekly", "holiday_country", '
        '"holiday_subdivision", "holidays"}',
    )
    escalation: EscalationIn | None = Field(
        default=None, description="left out: a warning notifies; a breach makes the ticket urgent and notifies")
    reason: Reason = None


class SlaPolicyRevisionIn(SlaPolicyIn):
    """Every term of the policy; what is left out takes its default."""

    expected_version: Whole | None = Field(
        default=None, ge=1, le=MAX_VERSION, description="the policy version you saw; a stale one is a 409"
    )


class SlaPolicyAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")
    sla_policy_id: UUID
    version: int
    position: int | None = None


class SlaMatchOut(BaseModel):
    priorities: list[str]
    channels: list[str]
    categories: list[str]
    customer_tiers: list[str]


class SlaTargetsOut(BaseModel):
    first_reply_minutes: float | None
    first_reply_seconds: int | None
    next_reply_minutes: float | None
    next_reply_seconds: int | None
    periodic_update_minutes: float | None
    periodic_update_seconds: int | None
    resolution_minutes: float | None
    resolution_seconds: int | None


class SlaPolicyOut(BaseModel):
    id: UUID
    version: int
    name: str
    rank: int
    match: SlaMatchOut
    targets: SlaTargetsOut
    warning_percent: int
    calendar: dict[str, Any]
    escalation: dict[str, Any]
    retired: bool
    defined_at: str
    updated_at: str
