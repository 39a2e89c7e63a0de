"""Request and response bodies of /v1/agents."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ledgerdesk.domain.agent import MAX_CAPACITY, MAX_NAME, MAX_SKILLS, MAX_TEAMS, MIN_CAPACITY, Presence
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.names import NAME_RULE
from ledgerdesk.domain.ticket_values import Category

from .inputs import MAX_VERSION
from .schemas import Body, Reason, Whole

TeamId = Annotated[str, Field(min_length=1, max_length=128)]
LanguageCode = Annotated[str, Field(min_length=2, max_length=2, description="ISO 639-1, e.g. zh, en, ja")]
ExpectedAgentVersion = Annotated[
    Whole | None, Field(default=None, ge=1, le=MAX_VERSION, description="the agent version you saw; a stale one is a 409")
]


class SkillsIn(Body):
    """What the agent can work; an empty list means any."""

    languages: list[LanguageCode] = Field(default_factory=list, max_length=MAX_SKILLS)
    categories: list[Category] = Field(default_factory=list, max_length=len(Category))
    channels: list[Channel] = Field(default_factory=list, max_length=len(Channel))


KindCapacity = Annotated[Whole | None, Field(default=None, ge=0, le=MAX_CAPACITY)]


class CapacityByKindIn(Body):
    """Per channel kind, the most tickets of that kind the agent holds at once (at most
    `capacity`); a kind left out is limited by `capacity` alone. Chat: every messaging channel
    (marketplaces, social, web chat, app, SMS); email; voice: phone."""

    chat: KindCapacity = None
    email: KindCapacity = None
    voice: KindCapacity = None

    def given(self) -> dict[str, int]:
        return {kind: value for kind, value in self.model_dump().items() if value is not None}


class AgentIn(Body):
    """The agent's whole profile: what is left out takes its default."""

    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME, description=NAME_RULE)]
    teams: list[TeamId] = Field(default_factory=list, max_length=MAX_TEAMS)
    skills: SkillsIn = Field(default_factory=SkillsIn)
    capacity: Whole = Field(ge=MIN_CAPACITY, le=MAX_CAPACITY, description="open tickets the agent may hold at once")
    capacity_by_channel_kind: CapacityByKindIn = Field(default_factory=CapacityByKindIn)
    expected_version: ExpectedAgentVersion = None
    reason: Reason = None


class PresenceIn(Body):
    status: Presence
    expected_version: ExpectedAgentVersion = None
    reason: Reason = None


class AgentAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")
    agent_id: str
    version: int
    position: int | None = None


class SkillsOut(BaseModel):
    languages: list[str]
    categories: list[str]
    channels: list[str]


class OpenTicketOut(BaseModel):
    ticket_id: str
    since: str


class AgentOut(BaseModel):
    agent_id: str
    version: int
    name: str
    teams: list[str]
    skills: SkillsOut
    capacity: int
    capacity_by_channel_kind: dict[str, int] = Field(description="the limits per channel kind set (chat, email, voice)")
    held_by_channel_kind: dict[str, int] = Field(description="slots held per channel kind")
    presence: Presence
    held_ticket_ids: list[str] = Field(description="slots the agent holds (taken by routing), oldest first")
    open_ticket_count: int = Field(description="tickets assigned to the agent and not solved or closed")
    open_tickets: list[OpenTicketOut] = Field(description="those tickets, longest open first (at most 1000)")
    registered_at: str
    updated_at: str


class AgentListItem(BaseModel):
    agent_id: str
    name: str
    teams: list[str]
    skills: SkillsOut
    capacity: int
    presence: Presence
    presence_since: str
    open_ticket_count: int
    held_slots: int
    version: int
    registered_at: str
    updated_at: str


class AgentPage(BaseModel):
    items: list[AgentListItem]
    next_cursor: str | None
