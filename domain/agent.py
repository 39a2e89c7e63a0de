"""The Agent aggregate: a person who works tickets, with their profile, presence and workload.

An agent's id is the tenant's own string ("li.na", "agent-zh", the same ids tickets are
assigned to); the aggregate's id is derived from (tenant, agent id), so a second registration
of the same agent conflicts at the store and another tenant's "li.na" is another aggregate.

The open-ticket set is the agent's reservations: `take` holds a slot for a ticket and `release`
gives it back. A take checks presence and capacity against the version it loaded, so two takes
decided on the same version cannot both be stored (the store refuses the second append), and
an agent never holds more tickets than its capacity by taking them.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from . import names
from .audit import AuditMeta
from .channel import Channel, ChannelKind
from .errors import IllegalTransition, InvalidValue
from .natural_keys import natural_id
from .ticket_values import Category, checked_member_id

AGENT_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.invalid/agents")

# An agent id: what ticket assignments hold (checked_member_id: 1 to 128 characters), written
# so that it travels in a URL path as it is: letters, digits and ". _ @ + -", starting with a
# letter or digit.
AGENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$"
AGENT_ID_RULE = "an agent id has 1 to 128 characters: letters, digits, '.', '_', '@', '+' or '-', starting with a letter or digit"
_AGENT_ID = re.compile(AGENT_ID_PATTERN)
MAX_NAME = 200
MAX_TEAMS = 50
MAX_SKILLS = 50
MIN_CAPACITY = 1
MAX_CAPACITY = 1000
SKILL_KEYS = ("languages", "categories", "channels")

# ISO 639-1: the two-letter language codes (what language detection labels tickets with).
ISO_639_1 = frozenset(
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el en eo "
    "es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg "
    "ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn "
    "no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta "
    "te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu".split()
)


class Presence(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


def is_agent_id(raw: str) -> bool:
    return isinstance(raw, str) and _AGENT_ID.fullmatch(raw) is not None


def checked_agent_id(raw: Any, *, field: str = "agent_id") -> str:
    """The id as given: a member id (ticket_values.checked_member_id) of the URL-safe shape above."""
    member = checked_member_id(raw if isinstance(raw, str) else "", field=field)
    if member != raw or not is_agent_id(member):
        raise InvalidValue(AGENT_ID_RULE, field=field)
    return member


def checked_name(raw: Any) -> str:
    return names.checked_name(raw, field="name", what="an agent's name", max_length=MAX_NAME)


def checked_teams(raw: Iterable[Any] | None) -> list[str]:
    """Distinct team ids, sorted."""
    values = list(raw or [])
    if len(values) > MAX_TEAMS:
        raise InvalidValue(f"an agent is in at most {MAX_TEAMS} teams", field="teams")
    return sorted({checked_member_id(v if isinstance(v, str) else "", field="teams") for v in values})


def _skill(key: str, value: Any) -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    if key == "languages":
        if text not in ISO_639_1:
            raise InvalidValue(f"{str(value)[:20]!r} is not an ISO 639-1 language code such as zh, en or ja",
                               field="skills.languages")
        return text
    kind = Category if key == "categories" else Channel
    try:
        return kind(text).value
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidValue(f"{str(value)[:40]!r} is not one of: {allowed}", field=f"skills.{key}") from None


def checked_skills(raw: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """Each skill as a sorted list of distinct values; an empty list means any."""
    raw = {} if raw is None else raw
    if not isinstance(raw, Mapping):
        raise InvalidValue(f"skills is an object of {', '.join(SKILL_KEYS)}", field="skills")
    for key in raw:
        if key not in SKILL_KEYS:
            raise InvalidValue(f"skills has only {', '.join(SKILL_KEYS)}", field=f"skills.{str(key)[:40]}")
    skills: dict[str, list[str]] = {}
    for key in SKILL_KEYS:
        values = raw.get(key) or []
        if not isinstance(values, (list, tuple)):
            raise InvalidValue(f"skills.{key} is a list", field=f"skills.{key}")
        if len(values) > MAX_SKILLS:
            raise InvalidValue(f"skills.{key} has at most {MAX_SKILLS} values", field=f"skills.{key}")
        skills[key] = sorted({_skill(key, v) for v in values})
    return skills


def checked_capacity(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not MIN_CAPACITY <= raw <= MAX_CAPACITY:
        raise InvalidValue(f"capacity is a whole number of tickets from {MIN_CAPACITY} to {MAX_CAPACITY}", field="capacity")
    return raw


def checked_kind_capacity(raw: Mapping[str, Any] | None, capacity: int) -> dict[str, int]:
    """Per channel kind, the most tickets of that kind held at once (a kind left out: up to the
    overall capacity), in canonical form."""
    raw = {} if raw is None else raw
    if not isinstance(raw, Mapping):
        raise InvalidValue(f"capacity_by_channel_kind is an object of {', '.join(ChannelKind)}", field="capacity_by_channel_kind")
    checked: dict[str, int] = {}
    for key, value in raw.items():
        if key not in ChannelKind.__members__.values():
            raise InvalidValue(f"capacity_by_channel_kind has only {', '.join(ChannelKind)}",
                               field=f"capacity_by_channel_kind.{str(key)[:40]}")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= capacity:
            raise InvalidValue(f"a channel kind's capacity is a whole number from 0 to the agent's capacity ({capacity})",
                               field=f"capacity_by_channel_kind.{key}")
        checked[str(key)] = value
    return dict(sorted(checked.items()))


def checked_profile(name: Any, teams: Iterable[Any] | None, skills: Mapping[str, Any] | None, capacity: Any,
                    capacity_by_kind: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An agent's profile in canonical form: equal profiles compare equal, whatever order they came in."""
    total = checked_capacity(capacity)
    return {
        "name": checked_name(name),
        "teams": checked_teams(teams),
        "skills": checked_skills(skills),
        "capacity": total,
        "capacity_by_channel_kind": checked_kind_capacity(capacity_by_kind, total),
    }


def checked_presence(raw: Any) -> Presence:
    try:
        return Presence(raw.strip().lower() if isinstance(raw, str) else raw)
    except ValueError:
        raise InvalidValue(f"presence is one of: {', '.join(p.value for p in Presence)}", field="status") from None


class Agent(Aggregate):
    class Event(Aggregate.Event):
        meta: AuditMeta

    class Registered(Event, Aggregate.Created):
        agent_id: str
        name: str
        teams: list[str]
        skills: dict[str, list[str]]
        capacity: int
        # Added later: stored events from before have none (the class default), i.e. no limit by kind.
        capacity_by_channel_kind: dict[str, int] | None = None

    class ProfileChanged(Event):
        """A full new version of the profile."""

        name: str
        teams: list[str]
        skills: dict[str, list[str]]
        capacity: int
        capacity_by_channel_kind: dict[str, int] | None = None

        def apply(self, agent: Agent) -> None:
            agent.name = self.name
            agent.teams = list(self.teams)
            agent.skills = {k: list(v) for k, v in self.skills.items()}
            agent.capacity = self.capacity
            agent.capacity_by_kind = dict(self.capacity_by_channel_kind or {})

    class PresenceChanged(Event):
        from_presence: str
        to_presence: str

        def apply(self, agent: Agent) -> None:
            agent.presence = Presence(self.to_presence)
            agent.presence_since = self.timestamp

    class TicketTaken(Event):
        ticket_id: UUID
        channel_kind: str | None = None  # None in events stored before capacity by kind existed

        def apply(self, agent: Agent) -> None:
            agent.open_ticket_ids.append(self.ticket_id)
            agent.open_ticket_kinds[self.ticket_id] = self.channel_kind
            agent.taken_total += 1

    class TicketReleased(Event):
        ticket_id: UUID

        def apply(self, agent: Agent) -> None:
            agent.open_ticket_ids = [t for t in agent.open_ticket_ids if t != self.ticket_id]
            agent.open_ticket_kinds.pop(self.ticket_id, None)

    def __init__(
        self, meta: AuditMeta, agent_id: str, name: str, teams: list[str], skills: dict[str, list[str]], capacity: int,
        capacity_by_channel_kind: dict[str, int] | None = None,
    ) -> None:
        self.tenant = meta.tenant
        self.agent_id = agent_id
        self.name = name
        self.teams = list(teams)
        self.skills = {k: list(v) for k, v in skills.items()}
        self.capacity = capacity
        self.capacity_by_kind: dict[str, int] = dict(capacity_by_channel_kind or {})
        self.presence = Presence.OFFLINE
        self.presence_since: datetime | None = None  # None: offline since registered
        self.open_ticket_ids: list[UUID] = []
        self.open_ticket_kinds: dict[UUID, str | None] = {}  # each held ticket's channel kind
        # Tickets ever taken: equally qualified agents take turns by it (routing's round robin).
        self.taken_total = 0

    @staticmethod
    def id_for(tenant: str, agent_id: str) -> UUID:
        return natural_id(AGENT_NAMESPACE, tenant, agent_id)

    @classmethod
    def register(
        cls,
        meta: AuditMeta,
        at: datetime,
        agent_id: str,
        name: str,
        teams: Iterable[str] | None,
        skills: Mapping[str, Any] | None,
        capacity: int,
        capacity_by_kind: Mapping[str, Any] | None = None,
    ) -> Agent:
        """A new agent, offline until they say otherwise."""
        agent_id = checked_agent_id(agent_id)
        profile = checked_profile(name, teams, skills, capacity, capacity_by_kind)
        return cls._create(cls.Registered, id=cls.id_for(meta.tenant, agent_id), timestamp=at, meta=meta,
                           agent_id=agent_id, **profile)

    def profile(self) -> dict[str, Any]:
        return {"name": self.name, "teams": list(self.teams), "skills": {k: list(v) for k, v in self.skills.items()},
                "capacity": self.capacity, "capacity_by_channel_kind": dict(self.capacity_by_kind)}

    def change_profile(
        self, meta: AuditMeta, at: datetime, name: str, teams: Iterable[str] | None, skills: Mapping[str, Any] | None, capacity: int,
        capacity_by_kind: Mapping[str, Any] | None = None,
    ) -> None:
        """Replace the whole profile; the same profile again is no change and no event. A lower
        capacity than the tickets held is allowed: the agent takes no more until below it."""
        profile = checked_profile(name, teams, skills, capacity, capacity_by_kind)
        if profile != self.profile():
            self.trigger_event(self.ProfileChanged, timestamp=at, meta=meta, **profile)

    def change_presence(self, meta: AuditMeta, at: datetime, presence: Presence | str) -> None:
        target = checked_presence(presence)
        if target is not self.presence:
            self.trigger_event(self.PresenceChanged, timestamp=at, meta=meta, from_presence=self.presence.value,
                               to_presence=target.value)

    @property
    def load(self) -> int:
        return len(self.open_ticket_ids)

    def holds(self, ticket_id: UUID) -> bool:
        return ticket_id in self.open_ticket_ids

    def load_of(self, kind: ChannelKind | str | None) -> int:
        """Tickets held of that channel kind (those taken before kinds were recorded count as none)."""
        return sum(1 for held in self.open_ticket_kinds.values() if held is not None and held == kind)

    def kind_capacity(self, kind: ChannelKind | str | None) -> int:
        return self.capacity if kind is None else self.capacity_by_kind.get(str(kind), self.capacity)

    def take(self, meta: AuditMeta, at: datetime, ticket_id: UUID, channel_kind: ChannelKind | str | None = None) -> None:
        """Hold a slot for the ticket: only while online, below capacity and below the capacity
        for the ticket's channel kind. Taking a ticket the agent holds already changes nothing."""
        if self.holds(ticket_id):
            return
        if self.presence is not Presence.ONLINE:
            raise IllegalTransition(f"agent {self.agent_id} is {self.presence}, not online: it takes no tickets",
                                    field="presence")
        if self.load >= self.capacity:
            raise IllegalTransition(f"agent {self.agent_id} holds {self.load} tickets, its capacity is {self.capacity}",
                                    field="capacity")
        kind = None if channel_kind is None else ChannelKind(channel_kind)
        if kind is not None and self.load_of(kind) >= self.kind_capacity(kind):
            raise IllegalTransition(f"agent {self.agent_id} holds {self.load_of(kind)} {kind} tickets, its {kind} capacity is "
                                    f"{self.kind_capacity(kind)}", field="capacity_by_channel_kind")
        self.trigger_event(self.TicketTaken, timestamp=at, meta=meta, ticket_id=ticket_id,
                           channel_kind=None if kind is None else kind.value)

    def release(self, meta: AuditMeta, at: datetime, ticket_id: UUID) -> None:
        """Give the ticket's slot back, whatever the presence; a ticket not held changes nothing."""
        if self.holds(ticket_id):
            self.trigger_event(self.TicketReleased, timestamp=at, meta=meta, ticket_id=ticket_id)
