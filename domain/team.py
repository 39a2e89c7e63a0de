"""The Team aggregate: a tenant's team, its name and the team its tickets escalate to.

A team's members are the agents who list it (Agent.teams); its queue is its unassigned tickets
(the inbox). The team itself holds what belongs to no agent: its name and its escalation team,
to which an SLA policy's escalation can hand the team's tickets (`transfer_to_escalation_team`).
The aggregate's id derives from (tenant, team id), like an agent's.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from .audit import AuditMeta
from .errors import InvalidValue
from .names import checked_name
from .natural_keys import natural_id
from .ticket_values import checked_member_id

TEAM_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.invalid/teams")
MAX_NAME = 200


def checked_team_terms(team_id: str, name: Any, escalation_team: Any) -> dict[str, Any]:
    shown = checked_name(name, field="name", what="a team's name", max_length=MAX_NAME)
    escalation = None
    if escalation_team is not None:
        escalation = checked_member_id(escalation_team if isinstance(escalation_team, str) else "", field="escalation_team")
        if escalation == team_id:
            raise InvalidValue("a team cannot escalate to itself", field="escalation_team")
    return {"name": shown, "escalation_team": escalation}


class Team(Aggregate):
    class Event(Aggregate.Event):
        meta: AuditMeta

    class Defined(Event, Aggregate.Created):
        team_id: str
        name: str
        escalation_team: str | None

    class Changed(Event):
        name: str
        escalation_team: str | None

        def apply(self, team: Team) -> None:
            team.name = self.name
            team.escalation_team = self.escalation_team

    def __init__(self, meta: AuditMeta, team_id: str, name: str, escalation_team: str | None) -> None:
        self.tenant = meta.tenant
        self.team_id = team_id
        self.name = name
        self.escalation_team = escalation_team

    @staticmethod
    def id_for(tenant: str, team_id: str) -> UUID:
        return natural_id(TEAM_NAMESPACE, tenant, team_id)

    @classmethod
    def define(cls, meta: AuditMeta, at: datetime, team_id: str, name: Any, escalation_team: Any = None) -> Team:
        team_id = checked_member_id(team_id, field="team_id")
        terms = checked_team_terms(team_id, name, escalation_team)
        return cls._create(cls.Defined, id=cls.id_for(meta.tenant, team_id), timestamp=at, meta=meta, team_id=team_id, **terms)

    def change(self, meta: AuditMeta, at: datetime, name: Any, escalation_team: Any = None) -> None:
        """Replace name and escalation team; the same again is no change and no event."""
        terms = checked_team_terms(self.team_id, name, escalation_team)
        if terms != {"name": self.name, "escalation_team": self.escalation_team}:
            self.trigger_event(self.Changed, timestamp=at, meta=meta, **terms)
