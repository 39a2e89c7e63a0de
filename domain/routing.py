"""Routing: which agent a routable ticket goes to, or why it waits in its team's queue.

Pure decisions: the caller reads the ticket's needs and its tenant's agents, calls `route`, and
records the answer (assignment or queueing) with the decision's reason and inputs, so anyone can
later see why a ticket went where it went. `queue_order` sorts what waits for the next free agent.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from .agent import Presence
from .channel import Channel
from .errors import InvalidValue
from .ticket_values import Category, Priority, priority_level


def _language(raw: str | None, field: str) -> str | None:
    if raw is None:
        return None
    code = raw.strip().lower() if isinstance(raw, str) else ""
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise InvalidValue(f"a language is a two-letter ISO 639-1 code, not {raw!r}", field=field)
    return code


def _aware(moment: datetime | None, field: str) -> None:
    if moment is not None and (not isinstance(moment, datetime) or moment.utcoffset() is None):
        raise InvalidValue("an instant has a time zone (a naive datetime is ambiguous)", field=field)


@dataclass(frozen=True)
class Skills:
    """What an agent can handle. An empty set means any: a generalist lists nothing."""

    languages: frozenset[str] = frozenset()
    categories: frozenset[Category] = frozenset()
    channels: frozenset[Channel] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "languages", frozenset(_language(code, "skills.languages") for code in self.languages))
        object.__setattr__(self, "categories", frozenset(Category(c) for c in self.categories))
        object.__setattr__(self, "channels", frozenset(Channel(c) for c in self.channels))


@dataclass(frozen=True)
class TicketNeeds:
    """What routing and queue order look at in a ticket. Instants are time-zone aware."""

    ticket_id: str
    tenant: str
    channel: Channel
    priority: Priority
    opened_at: datetime
    language: str | None = None  # ISO 639-1; None: unknown, so it asks for no language skill
    category: Category | None = None
    team: str | None = None  # when set, only its members may take the ticket
    sla_due_at: datetime | None = None  # the earliest due instant of its running SLA clocks

    def __post_init__(self) -> None:
        object.__setattr__(self, "channel", Channel(self.channel))
        object.__setattr__(self, "priority", Priority(self.priority))
        object.__setattr__(self, "category", Category(self.category) if self.category else None)
        object.__setattr__(self, "language", _language(self.language, "language"))
        _aware(self.opened_at, "opened_at")
        _aware(self.sla_due_at, "sla_due_at")

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_id,
            "tenant": self.tenant,
            "channel": str(self.channel),
            "priority": str(self.priority),
            "opened_at": self.opened_at.isoformat(),
            "language": self.language,
            "category": None if self.category is None else str(self.category),
            "team": self.team,
            "sla_due_at": None if self.sla_due_at is None else self.sla_due_at.isoformat(),
        }


@dataclass(frozen=True)
class AgentCandidate:
    """An agent as routing sees them at the moment of the decision.

    `last_assigned` marks the agent's latest routed assignment in any increasing sequence the
    caller keeps per tenant (the Assigned event's log position is one); None: never assigned.
    A sequence rather than a time, so two assignments in the same microsecond still take turns.
    """

    agent_id: str
    tenant: str
    capacity: int  # the most open tickets the agent holds at once; 0 takes none
    load: int  # open tickets assigned now
    presence: Presence = Presence.ONLINE
    teams: frozenset[str] = frozenset()
    skills: Skills = field(default_factory=Skills)
    last_assigned: int | None = None
    # Of the ticket's channel kind: tickets held, and the most the agent takes (None: no limit
    # of its own, only `capacity`).
    kind_load: int = 0
    kind_capacity: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "presence", Presence(self.presence))
        object.__setattr__(self, "teams", frozenset(self.teams))
        for name in ("capacity", "load"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidValue(f"{name} is a whole number from 0", field=name)

    @property
    def fill(self) -> Fraction:
        """Load as a share of capacity, exact, so equal shares tie exactly."""
        return Fraction(self.load, self.capacity) if self.capacity else Fraction(1)


# -- qualification ---------------------------------------------------------------------------

# Why an agent cannot take the ticket, checked in this order: the first that applies is named.
# Skills come before presence and capacity, so "2 qualified, both full" counts only agents who
# could have taken the ticket on a better day.
OTHER_TENANT = "other tenant"
NOT_IN_TEAM = "not in team"
NO_LANGUAGE = "lacks language"
NO_CATEGORY = "lacks category"
NO_CHANNEL = "lacks channel"
AWAY = "away"
OFFLINE = "offline"
FULL = "full"


def _skill_gap(needs: TicketNeeds, agent: AgentCandidate) -> str | None:
    if agent.tenant != needs.tenant:
        return OTHER_TENANT
    if needs.team is not None and needs.team not in agent.teams:
        return NOT_IN_TEAM
    skills = agent.skills
    if needs.language is not None and skills.languages and needs.language not in skills.languages:
        return NO_LANGUAGE
    if needs.category is not None and skills.categories and needs.category not in skills.categories:
        return NO_CATEGORY
    if skills.channels and needs.channel not in skills.channels:
        return NO_CHANNEL
    return None


def exclusion(needs: TicketNeeds, agent: AgentCandidate) -> str | None:
    """Why the agent may not take the ticket now, or None when they qualify."""
    gap = _skill_gap(needs, agent)
    if gap is not None:
        return gap
    if agent.presence is not Presence.ONLINE:
        return AWAY if agent.presence is Presence.AWAY else OFFLINE
    if agent.load >= agent.capacity:
        return FULL
    if agent.kind_capacity is not None and agent.kind_load >= agent.kind_capacity:
        return FULL
    return None


def _turn_key(agent: AgentCandidate) -> tuple[bool, int, str]:
    """Round robin: never assigned first, then the one assigned longest ago; the id settles the rest."""
    return (agent.last_assigned is not None, agent.last_assigned or 0, agent.agent_id)


def choice_key(agent: AgentCandidate) -> tuple[Fraction, tuple[bool, int, str]]:
    return (agent.fill, _turn_key(agent))


# -- the decision ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Assign:
    agent_id: str
    team: str | None
    reason: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class Queue:
    team: str | None  # the queue the ticket waits in; None: the tenant's general queue
    reason: str
    inputs: dict[str, Any]


RoutingDecision = Assign | Queue


def route(needs: TicketNeeds, candidates: Iterable[AgentCandidate]) -> RoutingDecision:
    """The agent for the ticket: online, under capacity, skilled and (for a team ticket) in the team.

    Least filled first, by load as a share of capacity rather than plain load: capacity says how
    much each agent can carry, so a part-timer with 4 and a senior with 10 fill up together
    instead of the part-timer filling first. Equal fill takes turns round robin (`last_assigned`),
    so equally qualified agents get equal shares over time; the agent id makes ties deterministic.
    """
    candidates = sorted(candidates, key=lambda a: a.agent_id)
    ruled = [(agent, exclusion(needs, agent)) for agent in candidates]
    # Another tenant's agents are no business of this ticket's record.
    weighed = [(agent, why) for agent, why in ruled if why != OTHER_TENANT]
    inputs: dict[str, Any] = {
        "ticket": needs.to_dict(),
        "candidates": [_candidate_input(agent, why, needs) for agent, why in _recorded(weighed)],
    }
    if len(weighed) > MAX_RECORDED_CANDIDATES:
        inputs["candidate_count"] = len(weighed)
        inputs["candidates_omitted"] = len(weighed) - MAX_RECORDED_CANDIDATES
    qualified = [agent for agent, why in ruled if why is None]
    if not qualified:
        return Queue(team=needs.team, reason=_queue_reason(needs, ruled), inputs=inputs)
    chosen = min(qualified, key=choice_key)
    tied = [agent for agent in qualified if agent.fill == chosen.fill]
    inputs["rule"] = "qualified: same tenant, in team, skilled, online, under capacity; least fill (load/capacity) first; then round robin"
    inputs["chosen"] = chosen.agent_id
    return Assign(agent_id=chosen.agent_id, team=needs.team, reason=_assign_reason(needs, chosen, len(qualified), len(tied)), inputs=inputs)


# The decision travels in the events it causes (Ticket.Assigned and Agent.TicketTaken, or
# Ticket.Queued) and in every history that shows them, so what it records is bounded whatever
# the tenant's agents: the most relevant candidates (the qualified by the choice's own order,
# then those only unavailable, then the rest), and each agent's teams with the ticket's first.
MAX_RECORDED_CANDIDATES = 25
MAX_RECORDED_TEAMS = 10


def _recorded(weighed: list[tuple[AgentCandidate, str | None]]) -> list[tuple[AgentCandidate, str | None]]:
    """The candidates the decision records, in agent id order: all of them, or the most relevant."""
    if len(weighed) <= MAX_RECORDED_CANDIDATES:
        return weighed
    qualified = sorted(((a, why) for a, why in weighed if why is None), key=lambda pair: choice_key(pair[0]))
    unavailable = [(a, why) for a, why in weighed if why in (FULL, AWAY, OFFLINE)]
    unskilled = [(a, why) for a, why in weighed if why is not None and why not in (FULL, AWAY, OFFLINE)]
    kept = [*qualified, *unavailable, *unskilled][:MAX_RECORDED_CANDIDATES]
    return sorted(kept, key=lambda pair: pair[0].agent_id)


def _candidate_input(agent: AgentCandidate, why: str | None, needs: TicketNeeds) -> dict[str, Any]:
    teams = sorted(agent.teams)
    listed: dict[str, Any] = {"teams": teams}
    if len(teams) > MAX_RECORDED_TEAMS:
        first = [needs.team] if needs.team in agent.teams else []
        listed = {"teams": first + [t for t in teams if t != needs.team][: MAX_RECORDED_TEAMS - len(first)],
                  "team_count": len(teams)}
    return {
        "agent_id": agent.agent_id,
        "presence": str(agent.presence),
        "load": agent.load,
        "capacity": agent.capacity,
        **listed,
        "languages": sorted(agent.skills.languages),
        "categories": sorted(str(c) for c in agent.skills.categories),
        "channels": sorted(str(c) for c in agent.skills.channels),
        "last_assigned": agent.last_assigned,
        "excluded": why,
    }


def _needs_phrase(needs: TicketNeeds) -> str:
    parts = []
    if needs.language is not None:
        parts.append(f"language {needs.language}")
    if needs.category is not None:
        parts.append(f"skill {needs.category}")
    parts.append(f"channel {needs.channel}")
    if needs.team is not None:
        parts.append(f"in team {needs.team}")
    return ", ".join(parts)


def _assign_reason(needs: TicketNeeds, agent: AgentCandidate, qualified: int, tied: int) -> str:
    parts = []
    if needs.language is not None:
        parts.append(f"speaks {needs.language}")
    if needs.category is not None:
        parts.append(f"skill {needs.category}")
    if needs.team is not None:
        parts.append(f"in team {needs.team}")
    parts.append(f"load {agent.load} of {agent.capacity}")
    parts.append("the only qualified agent" if qualified == 1 else f"least loaded of {qualified} qualified")
    reason = f"assigned to agent {agent.agent_id}: " + ", ".join(parts)
    if tied > 1:
        reason += f"; tie of {tied} broken round-robin"
    return reason


_EXCLUSION_PHRASES = {
    FULL: "full",
    AWAY: "away",
    OFFLINE: "offline",
}


def _queue_reason(needs: TicketNeeds, ruled: list[tuple[AgentCandidate, str | None]]) -> str:
    head = f"no online agent under capacity with {_needs_phrase(needs)}"
    skilled = [why for _, why in ruled if why in _EXCLUSION_PHRASES]
    unskilled = sum(1 for _, why in ruled if why not in _EXCLUSION_PHRASES and why != OTHER_TENANT)
    if not skilled and not unskilled:
        return head + " (no agents)"
    details = []
    if skilled:
        counts = Counter(skilled)
        states = [f"{counts[why]} {_EXCLUSION_PHRASES[why]}" for why in (FULL, AWAY, OFFLINE) if counts[why]]
        if len(skilled) == 1:
            details.append(f"1 qualified, {_EXCLUSION_PHRASES[skilled[0]]}")
        elif len(states) == 1:
            details.append(f"{len(skilled)} qualified, {'both' if len(skilled) == 2 else 'all'} {_EXCLUSION_PHRASES[skilled[0]]}")
        else:
            details.append(f"{len(skilled)} qualified: " + ", ".join(states))
    else:
        details.append("none qualified")
    if unskilled:
        details.append(f"{unskilled} without the skills or team")
    return f"{head} ({'; '.join(details)})"


# -- what waits ------------------------------------------------------------------------------


_NEVER_DUE = datetime.max.replace(tzinfo=UTC)


def queue_order(needs: TicketNeeds) -> tuple[datetime, int, datetime, str]:
    """Sort key for queued tickets, the first is served first: the most urgent SLA (earliest due;
    none due last), then higher priority, then the oldest, then the ticket id for a total order."""
    return (
        needs.sla_due_at if needs.sla_due_at is not None else _NEVER_DUE,
        -priority_level(needs.priority),
        needs.opened_at,
        needs.ticket_id,
    )
