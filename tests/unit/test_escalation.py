"""Escalation: an SLA clock reaching its warning or its due time asks for the policy's actions once;
paused, stopped and re-targeted clocks ask for nothing. Clocks come from the real TicketSla."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerdesk.domain.business_hours import BusinessCalendar
from ledgerdesk.domain.escalation import (
    ClockReading,
    EscalationLevel,
    EscalationSettings,
    LevelActions,
    Notify,
    RaisePriority,
    TransferToTeam,
    escalate,
)
from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.domain.sla import SlaMetric, SlaTerms, TicketSla
from ledgerdesk.domain.ticket_values import Priority

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
WARNING, BREACH = EscalationLevel.WARNING, EscalationLevel.BREACH
STRICT = EscalationSettings(
    on_warning=LevelActions(raise_priority_to=Priority.HIGH, notify=True),
    on_breach=LevelActions(raise_priority_to=Priority.URGENT, transfer_to_team="escalations", notify=True),
)


def terms(resolution: int = 4 * 3600, first_reply: int = 3600, version: int = 1) -> SlaTerms:
    return SlaTerms(
        policy_id="standard",
        policy_version=version,
        targets={SlaMetric.FIRST_REPLY: first_reply, SlaMetric.RESOLUTION: resolution},
        warning_percent=75,
        calendar=BusinessCalendar.always_open(),
    )


def opened(**over) -> TicketSla:
    sla = TicketSla(terms(**over))
    sla.opened(T0)
    return sla


def reading(sla: TicketSla, metric: SlaMetric, at: datetime) -> ClockReading:
    (clock,) = [c for c in sla.clocks if c.metric is metric]
    return ClockReading.of(clock, at)


# -- examples --------------------------------------------------------------------------------


def test_a_breach_makes_the_ticket_urgent_moves_it_to_the_escalation_team_and_notifies():
    sla = opened()
    decision = escalate(reading(sla, SlaMetric.FIRST_REPLY, T0 + HOUR), STRICT, Priority.NORMAL, "cn-desk", frozenset())

    due = (T0 + HOUR).isoformat()
    why = f"first_reply SLA breached (due {due})"
    assert decision.actions == (
        RaisePriority(Priority.URGENT, BREACH, f"{why}: priority normal -> urgent"),
        TransferToTeam("escalations", BREACH, f"{why}: transfer to team escalations"),
        Notify(BREACH, why),
    )
    # Found breached before its warning was escalated: the warning is recorded, not acted on.
    assert decision.levels == (WARNING, BREACH)
    assert decision.reason == f"{why}: priority normal -> urgent, transfer to team escalations, notify"
    json.dumps(decision.inputs)


def test_a_redelivered_breach_trigger_asks_for_nothing_more():
    sla = opened()
    at = reading(sla, SlaMetric.FIRST_REPLY, T0 + HOUR)
    first = escalate(at, STRICT, Priority.NORMAL, "cn-desk", frozenset())
    again = escalate(at, STRICT, Priority.URGENT, "escalations", frozenset(first.levels))
    assert first.actions and (again.actions, again.levels) == ((), ())
    assert again.reason == "first_reply SLA breach was escalated already"


def test_a_warning_raises_to_its_priority_and_notifies():
    sla = opened()
    decision = escalate(reading(sla, SlaMetric.FIRST_REPLY, T0 + 45 * timedelta(minutes=1)), STRICT, Priority.LOW, None, frozenset())
    assert [type(a) for a in decision.actions] == [RaisePriority, Notify]
    assert decision.actions[0].to is Priority.HIGH and decision.levels == (WARNING,)
    assert decision.reason.startswith("first_reply SLA reached its warning")


def test_before_the_warning_nothing_is_asked():
    sla = opened()
    decision = escalate(reading(sla, SlaMetric.FIRST_REPLY, T0 + 44 * timedelta(minutes=1)), STRICT, Priority.LOW, None, frozenset())
    assert decision.actions == () and decision.levels == ()
    assert "has reached no escalation level" in decision.reason


def test_priority_is_never_lowered_nor_the_ticket_moved_to_the_team_it_is_in():
    sla = opened()
    decision = escalate(reading(sla, SlaMetric.RESOLUTION, T0 + 5 * HOUR), STRICT, Priority.URGENT, "escalations", {WARNING})
    assert decision.actions == (Notify(BREACH, decision.actions[0].reason),)
    assert decision.levels == (BREACH,)


def test_a_level_asking_nothing_is_still_recorded_so_it_is_not_asked_again():
    quiet = EscalationSettings(on_warning=LevelActions(), on_breach=LevelActions(raise_priority_to=Priority.URGENT))
    sla = opened()
    decision = escalate(reading(sla, SlaMetric.RESOLUTION, T0 + 5 * HOUR), quiet, Priority.URGENT, None, frozenset())
    assert decision.actions == () and decision.levels == (WARNING, BREACH)
    assert decision.reason.endswith("the ticket already has what the policy asks")


def test_the_default_settings_notify_on_warning_and_make_a_breach_urgent():
    sla = opened()
    decision = escalate(reading(sla, SlaMetric.RESOLUTION, T0 + 5 * HOUR), EscalationSettings(), Priority.HIGH, None, {WARNING})
    assert [type(a) for a in decision.actions] == [RaisePriority, Notify]
    warned = escalate(reading(sla, SlaMetric.RESOLUTION, T0 + 3 * HOUR), EscalationSettings(), Priority.HIGH, None, set())
    assert [type(a) for a in warned.actions] == [Notify]


def test_a_paused_clock_asks_for_nothing_even_past_its_due_time():
    sla = opened()
    sla.agent_reply(T0 + timedelta(minutes=10))
    sla.status_changed("pending", T0 + timedelta(minutes=20))  # waits for the customer: resolution pauses
    decision = escalate(reading(sla, SlaMetric.RESOLUTION, T0 + 9 * HOUR), STRICT, Priority.NORMAL, None, frozenset())
    assert decision.actions == () and decision.levels == ()
    assert decision.reason == "resolution SLA is paused: nothing to escalate while it waits"


def test_a_re_targeted_clock_is_not_due_at_the_old_trigger_and_is_at_the_new_one():
    sla = opened()
    old_due = sla.clocks[0].due_at
    sla.retarget(terms(first_reply=3 * 3600, version=2), T0 + timedelta(minutes=30))

    assert escalate(reading(sla, SlaMetric.FIRST_REPLY, old_due), STRICT, Priority.NORMAL, None, {WARNING}).actions == ()
    later = escalate(reading(sla, SlaMetric.FIRST_REPLY, T0 + 3 * HOUR), STRICT, Priority.NORMAL, None, {WARNING})
    assert BREACH in later.levels and later.actions


def test_the_levels_already_done_are_checked():
    sla = opened()
    with pytest.raises(InvalidValue) as error:
        escalate(reading(sla, SlaMetric.RESOLUTION, T0), STRICT, Priority.NORMAL, None, {"panic"})
    assert error.value.field == "done"


@pytest.mark.parametrize("team", ["   ", "\u3000", "x" * 129])
def test_a_blank_or_long_escalation_team_names_its_level(team):
    """Hostile run: a transfer_to_team of spaces was a 422 naming plain `transfer_to_team`, not
    which level of the escalation held it."""
    with pytest.raises(InvalidValue) as error:
        EscalationSettings.from_dict({"on_breach": {"transfer_to_team": team}})
    assert error.value.field == "escalation.on_breach.transfer_to_team"


# -- properties ------------------------------------------------------------------------------

minutes = st.integers(0, 12 * 60).map(lambda m: T0 + timedelta(minutes=m))
priorities = st.sampled_from(list(Priority))
teams = st.sampled_from([None, "cn-desk", "escalations"])


@settings(max_examples=200, deadline=None)
@given(st.lists(minutes, min_size=1, max_size=12), priorities, teams, st.sampled_from([SlaMetric.FIRST_REPLY, SlaMetric.RESOLUTION]))
def test_each_level_escalates_exactly_once_across_repeated_triggers(trigger_times, priority, team, metric):
    """Triggers fire (and are redelivered) at any instants, in time order; the caller applies each
    decision and feeds the levels back as done."""
    sla = opened()
    done: set[EscalationLevel] = set()
    escalated: list[EscalationLevel] = []
    breach_notices = 0
    for at in sorted(trigger_times):
        decision = escalate(reading(sla, metric, at), STRICT, priority, team, frozenset(done))
        assert not done & set(decision.levels)
        escalated.extend(decision.levels)
        breach_notices += sum(1 for a in decision.actions if isinstance(a, Notify) and a.level is BREACH)
        for action in decision.actions:
            if isinstance(action, RaisePriority):
                assert action.to != priority and list(Priority).index(action.to) > list(Priority).index(priority)
                priority = action.to
            if isinstance(action, TransferToTeam):
                assert action.team != team
                team = action.team
        done |= set(decision.levels)
    (clock,) = [c for c in sla.clocks if c.metric is metric]
    breached = max(trigger_times) >= clock.due_at
    assert escalated.count(BREACH) == (1 if breached else 0)
    assert escalated.count(WARNING) == (1 if max(trigger_times) >= clock.warning_at else 0)
    assert breach_notices == escalated.count(BREACH)
    if breached:
        assert priority is Priority.URGENT and team == "escalations"


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["pending", "on_hold", "solved", "reply"]),
    st.integers(1, 11 * 60).map(lambda m: timedelta(minutes=m)),
    st.lists(st.integers(0, 24 * 60).map(lambda m: timedelta(minutes=m)), min_size=1, max_size=6),
    st.sets(st.sampled_from(list(EscalationLevel))),
    priorities,
)
def test_paused_and_stopped_clocks_never_escalate(what, after, trigger_offsets, done, priority):
    sla = opened(resolution=12 * 3600)
    sla.agent_reply(T0)  # first_reply is fulfilled at once
    happened = T0 + after
    if what == "reply":
        metric = SlaMetric.FIRST_REPLY
    else:
        metric = SlaMetric.RESOLUTION
        sla.status_changed(what, happened)  # pending / on hold pause resolution; solved stops it
    for offset in trigger_offsets:
        decision = escalate(reading(sla, metric, happened + offset), STRICT, priority, None, done)
        assert decision.actions == () and decision.levels == ()


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 59).map(lambda m: timedelta(minutes=m)),
    st.integers(2 * 60, 6 * 60),
    priorities,
)
def test_a_clock_re_targeted_later_does_not_escalate_at_its_old_due_time(retarget_after, new_target_minutes, priority):
    sla = opened()
    old_due = sla.clocks[0].due_at
    sla.retarget(terms(first_reply=new_target_minutes * 60, version=2), T0 + retarget_after)
    decision = escalate(reading(sla, SlaMetric.FIRST_REPLY, old_due), STRICT, priority, None, {WARNING})
    assert BREACH not in decision.levels
    assert not any(a.level is BREACH for a in decision.actions)
