"""Agents: a canonical profile, presence, and slots taken and released within capacity."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest

from ledgerdesk.domain.agent import Agent, Presence, checked_agent_id
from ledgerdesk.domain.audit import Actor, ActorKind, AuditMeta
from ledgerdesk.domain.errors import IllegalTransition, InvalidValue

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 11, tzinfo=timezone.utc)
META = AuditMeta(tenant="shop-1", actor=Actor(ActorKind.INTEGRATOR, "hr-sync"), command_id="cmd-1", correlation_id="corr-1")


def register(**over: Any) -> Agent:
    profile: dict[str, Any] = {
        "agent_id": "li.na",
        "name": "Li Na",
        "teams": ["logistics"],
        "skills": {"languages": ["zh"], "categories": [], "channels": ["taobao"]},
        "capacity": 2,
    }
    profile.update(over)
    return Agent.register(META, T0, **profile)


def online(agent: Agent) -> Agent:
    agent.change_presence(META, T0, Presence.ONLINE)
    return agent


def types(agent: Agent) -> list[str]:
    return [type(e).__name__ for e in agent.collect_events()]


def test_a_registered_agent_is_offline_with_a_canonical_profile():
    agent = register(teams=["refunds", "logistics", "refunds"],
                     skills={"languages": ["ZH", "en", "zh"], "channels": ["jd", "taobao"]})

    assert agent.id == Agent.id_for("shop-1", "li.na") != Agent.id_for("shop-2", "li.na")
    assert agent.presence is Presence.OFFLINE and agent.open_ticket_ids == []
    assert agent.profile() == {
        "name": "Li Na",
        "teams": ["logistics", "refunds"],
        "skills": {"languages": ["en", "zh"], "categories": [], "channels": ["jd", "taobao"]},
        "capacity_by_channel_kind": {},
        "capacity": 2,
    }
    assert types(agent) == ["Registered"]


def test_the_same_profile_again_is_no_event_and_a_new_one_is_one():
    agent = register()
    agent.collect_events()

    agent.change_profile(META, T0, " Li   Na ", ["logistics"], {"channels": ["TAOBAO"], "languages": ["zh"]}, 2)
    assert types(agent) == []

    agent.change_profile(META, T0, "Li Na", ["logistics", "vip-desk"], {}, 5)
    assert types(agent) == ["ProfileChanged"]
    assert agent.teams == ["logistics", "vip-desk"] and agent.capacity == 5
    assert agent.skills == {"languages": [], "categories": [], "channels": []}


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"agent_id": "li na"}, "agent_id"),
        ({"agent_id": " li.na"}, "agent_id"),
        ({"agent_id": "x" * 129}, "agent_id"),
        ({"agent_id": ""}, "agent_id"),
        ({"agent_id": ".hidden"}, "agent_id"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"teams": ["t"] * 51}, "teams"),
        ({"teams": [" "]}, "teams"),
        ({"skills": {"languages": ["zz"]}}, "skills.languages"),
        ({"skills": {"languages": ["zho"]}}, "skills.languages"),
        ({"skills": {"categories": ["gossip"]}}, "skills.categories"),
        ({"skills": {"channels": ["carrier-pigeon"]}}, "skills.channels"),
        ({"skills": {"channels": ["jd"] * 51}}, "skills.channels"),
        ({"skills": {"moods": []}}, "skills.moods"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 1001}, "capacity"),
        ({"capacity": 2**64}, "capacity"),
        ({"capacity": True}, "capacity"),
        ({"capacity_by_kind": {"chat": 3}}, "capacity_by_channel_kind.chat"),  # above the capacity of 2
        ({"capacity_by_kind": {"chat": -1}}, "capacity_by_channel_kind.chat"),
        ({"capacity_by_kind": {"fax": 1}}, "capacity_by_channel_kind.fax"),
        ({"capacity_by_kind": {"email": 2**64}}, "capacity_by_channel_kind.email"),
        ({"capacity_by_kind": ["chat"]}, "capacity_by_channel_kind"),
    ],
)
def test_a_bad_profile_is_refused_naming_the_field(over, field):
    with pytest.raises(InvalidValue) as refused:
        register(**over)
    assert refused.value.field == field


def test_agent_ids_are_the_tenants_own_url_safe_strings():
    for good in ("li.na", "agent-zh", "a", "mike@shop.example", "x" * 128, "Z_9+1"):
        assert checked_agent_id(good) == good


def test_presence_changes_only_when_it_changes():
    agent = register()
    agent.collect_events()
    agent.change_presence(META, T0, "offline")
    assert types(agent) == []
    agent.change_presence(META, T0, "online")
    agent.change_presence(META, T0, "away")
    assert types(agent) == ["PresenceChanged", "PresenceChanged"] and agent.presence is Presence.AWAY
    with pytest.raises(InvalidValue) as refused:
        agent.change_presence(META, T0, "busy")
    assert refused.value.field == "status"


def test_an_agent_takes_tickets_while_online_and_below_capacity():
    agent = online(register(capacity=2))
    first, second, third = uuid4(), uuid4(), uuid4()
    agent.take(META, T0, first)
    agent.take(META, T0, first)  # held already: no change
    agent.take(META, T0 + timedelta(seconds=1), second)
    assert agent.open_ticket_ids == [first, second]

    with pytest.raises(IllegalTransition) as refused:
        agent.take(META, T0, third)
    assert refused.value.field == "capacity"

    agent.release(META, T0, first)
    agent.release(META, T0, first)  # released already: no change
    agent.take(META, T0, third)
    assert agent.open_ticket_ids == [second, third]
    assert [t for t in types(agent) if t.startswith("Ticket")] == ["TicketTaken", "TicketTaken", "TicketReleased", "TicketTaken"]


@pytest.mark.parametrize("presence", [Presence.OFFLINE, Presence.AWAY])
def test_an_agent_not_online_takes_nothing_but_still_releases(presence):
    agent = online(register())
    ticket = uuid4()
    agent.take(META, T0, ticket)
    agent.change_presence(META, T0, presence)
    with pytest.raises(IllegalTransition) as refused:
        agent.take(META, T0, uuid4())
    assert refused.value.field == "presence"
    agent.release(META, T0, ticket)
    assert agent.open_ticket_ids == []


def test_a_lower_capacity_than_the_load_is_allowed_and_stops_taking():
    agent = online(register(capacity=3))
    for _ in range(3):
        agent.take(META, T0, uuid4())
    agent.change_profile(META, T0, "Li Na", ["logistics"], {}, 1)
    with pytest.raises(IllegalTransition):
        agent.take(META, T0, uuid4())
    assert agent.load == 3


def test_replaying_the_events_gives_the_same_agent():
    agent = online(register())
    ticket = uuid4()
    agent.take(META, T0, ticket)
    agent.change_profile(META, T0, "Li Na", ["vip-desk"], {"languages": ["ja"]}, 4)
    events = agent.collect_events()
    copy = None
    for event in events:
        copy = event.mutate(copy)
    assert copy is not None
    assert (copy.profile(), copy.presence, copy.open_ticket_ids, copy.version) == (
        agent.profile(), agent.presence, agent.open_ticket_ids, agent.version)


def test_a_channel_kind_with_a_capacity_of_its_own_fills_apart_from_the_rest():
    agent = online(register(capacity=3, capacity_by_kind={"chat": 1, "voice": 0}))
    chat, email, more_chat, call = uuid4(), uuid4(), uuid4(), uuid4()
    agent.take(META, T0, chat, "chat")
    agent.take(META, T0, email, "email")  # email has no limit of its own: only the 3 in all
    for ticket, kind in ((more_chat, "chat"), (call, "voice")):
        with pytest.raises(IllegalTransition) as refused:
            agent.take(META, T0, ticket, kind)
        assert refused.value.field == "capacity_by_channel_kind"
    agent.release(META, T0, chat)
    agent.take(META, T0, more_chat, "chat")
    assert agent.load_of("chat") == 1 and agent.load_of("email") == 1 and agent.load == 2


def test_slots_taken_before_kinds_were_recorded_count_for_capacity_not_for_a_kind():
    """A TicketTaken stored before capacity by kind existed has no channel_kind (the class default)."""
    agent = online(register(capacity=2, capacity_by_kind={"chat": 1}))
    old = uuid4()
    agent.take(META, T0, old)  # as events of then were: no kind
    assert agent.load == 1 and agent.load_of("chat") == 0
    agent.take(META, T0, uuid4(), "chat")
    with pytest.raises(IllegalTransition):
        agent.take(META, T0, uuid4(), "email")  # 2 of 2 in all


@pytest.mark.parametrize("team", ["refunds\tdesk", "es\x85c", "a\x00b"])
def test_a_team_id_with_a_control_character_is_refused_like_everywhere_else(team):
    """Hostile run: a tab was accepted in a team id that no escalation could ever name."""
    with pytest.raises(InvalidValue) as refused:
        register(teams=[team])
    assert refused.value.field == "teams"
