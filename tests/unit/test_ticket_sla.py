"""SLA clocks of a ticket: first reply, next reply, periodic update and resolution.

Worked examples pin the helpdesk meaning of each metric (what starts, pauses, fulfils and
breaches it); random call sequences pin what a read model relies on: replaying the same facts
gives the same state, the state survives JSON, and elapsed time never runs backwards.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledgerdesk.domain.business_hours import BusinessCalendar
from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.domain.sla import (
    ClockState,
    MetricClock,
    SlaMetric,
    SlaTerms,
    TicketSla,
)

from .test_business_hours import calendars, instants, later

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 11, 8, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")

FIRST, NEXT, PERIODIC, RESOLUTION = SlaMetric.FIRST_REPLY, SlaMetric.NEXT_REPLY, SlaMetric.PERIODIC_UPDATE, SlaMetric.RESOLUTION


def terms(
    first: int | None = 3600,
    next_: int | None = None,
    periodic: int | None = None,
    resolution: int | None = 8 * 3600,
    *,
    warning: int = 75,
    calendar: BusinessCalendar | None = None,
    version: int = 1,
) -> SlaTerms:
    targets = {FIRST: first, NEXT: next_, PERIODIC: periodic, RESOLUTION: resolution}
    return SlaTerms(
        policy_id="policy-normal",
        policy_version=version,
        targets={metric: seconds for metric, seconds in targets.items() if seconds is not None},
        warning_percent=warning,
        calendar=calendar or BusinessCalendar.always_open(),
    )


def clock(sla: TicketSla, metric: SlaMetric, cycle: int = 1) -> MetricClock:
    (found,) = [c for c in sla.clocks if c.metric is metric and c.cycle == cycle]
    return found


def cycles(sla: TicketSla, metric: SlaMetric) -> list[MetricClock]:
    return [c for c in sla.clocks if c.metric is metric]


def opened(sla_terms: SlaTerms | None, at: datetime = T0) -> TicketSla:
    sla = TicketSla(sla_terms)
    sla.opened(at)
    return sla


# -- first reply ----------------------------------------------------------------------------------


def test_a_first_reply_in_time_fulfils_the_first_reply_clock():
    sla = opened(terms(first=3600))
    assert clock(sla, FIRST).state_at(T0 + 10 * MINUTE) is ClockState.ACTIVE
    assert clock(sla, FIRST).due_at == T0 + HOUR
    sla.agent_reply(T0 + 40 * MINUTE)
    first = clock(sla, FIRST)
    assert first.state_at(T0 + 5 * HOUR) is ClockState.FULFILLED
    assert first.stopped_at == T0 + 40 * MINUTE
    assert first.elapsed_at(T0 + 5 * HOUR) == 40 * 60
    assert first.breached_at is None


def test_a_late_first_reply_is_breached_at_the_instant_it_was_due():
    sla = opened(terms(first=3600))
    assert clock(sla, FIRST).state_at(T0 + HOUR - timedelta(microseconds=1)) is ClockState.ACTIVE
    assert clock(sla, FIRST).state_at(T0 + HOUR) is ClockState.BREACHED
    sla.agent_reply(T0 + 3 * HOUR)
    first = clock(sla, FIRST)
    assert first.state_at(T0 + 3 * HOUR) is ClockState.BREACHED
    assert first.breached_at == first.due_at == T0 + HOUR
    assert first.view(T0 + 4 * HOUR)["breached_at"] == (T0 + HOUR).isoformat()


def test_first_reply_is_not_paused_by_pending_or_on_hold():
    sla = opened(terms(first=3600))
    sla.status_changed("pending", T0 + 10 * MINUTE)
    sla.status_changed("on_hold", T0 + 20 * MINUTE)
    assert clock(sla, FIRST).state_at(T0 + 30 * MINUTE) is ClockState.ACTIVE
    assert clock(sla, FIRST).elapsed_at(T0 + 30 * MINUTE) == 30 * 60
    assert clock(sla, FIRST).state_at(T0 + HOUR) is ClockState.BREACHED


def test_solving_before_any_reply_stops_first_reply_at_the_solve():
    sla = opened(terms(first=3600))
    sla.status_changed("solved", T0 + 30 * MINUTE)
    first = clock(sla, FIRST)
    assert first.stopped_at == T0 + 30 * MINUTE
    assert first.state_at(T0 + 5 * HOUR) is ClockState.FULFILLED
    # Reopening does not restart it: it measures the wait before the first answer, now over.
    sla.status_changed("open", T0 + 2 * HOUR)
    assert clock(sla, FIRST).stopped_at == T0 + 30 * MINUTE


def test_the_warning_comes_at_its_share_of_the_target():
    sla = opened(terms(first=3600, warning=75))
    first = clock(sla, FIRST)
    assert first.warning_at == T0 + 45 * MINUTE
    assert first.view(T0 + 44 * MINUTE)["warning_reached"] is False
    assert first.view(T0 + 45 * MINUTE)["warning_reached"] is True
    assert first.view(T0 + 45 * MINUTE)["state"] == "active"


def test_a_first_reply_over_a_weekend_counts_business_hours_only():
    calendar = BusinessCalendar.from_dict(
        {
            "kind": "business_hours",
            "timezone": "Asia/Shanghai",
            "weekly": {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        }
    )
    friday = datetime(2026, 9, 4, 17, tzinfo=SHANGHAI)
    sla = opened(terms(first=2 * 3600, calendar=calendar), friday)
    assert clock(sla, FIRST).due_at == datetime(2026, 9, 7, 10, tzinfo=SHANGHAI)
    sla.agent_reply(datetime(2026, 9, 7, 9, 30, tzinfo=SHANGHAI))
    assert clock(sla, FIRST).elapsed_at(datetime(2026, 9, 8, tzinfo=SHANGHAI)) == 1.5 * 3600
    assert clock(sla, FIRST).state_at(datetime(2026, 9, 8, tzinfo=SHANGHAI)) is ClockState.FULFILLED


# -- next reply -----------------------------------------------------------------------------------


def test_customer_messages_before_the_first_reply_start_no_next_reply():
    sla = opened(terms(next_=1800))
    sla.customer_message(T0 + 5 * MINUTE)
    sla.customer_message(T0 + 10 * MINUTE)
    assert cycles(sla, NEXT) == []


def test_next_reply_runs_from_the_oldest_unanswered_message_to_the_next_reply_in_cycles():
    sla = opened(terms(next_=1800))
    sla.agent_reply(T0 + 10 * MINUTE)
    sla.customer_message(T0 + HOUR)
    sla.customer_message(T0 + HOUR + 20 * MINUTE)  # still the same wait
    assert len(cycles(sla, NEXT)) == 1
    assert clock(sla, NEXT, 1).started_at == T0 + HOUR
    assert clock(sla, NEXT, 1).due_at == T0 + HOUR + 30 * MINUTE
    sla.agent_reply(T0 + HOUR + 25 * MINUTE)
    assert clock(sla, NEXT, 1).state_at(T0 + 2 * HOUR) is ClockState.FULFILLED

    sla.customer_message(T0 + 3 * HOUR)
    sla.agent_reply(T0 + 4 * HOUR)
    second = clock(sla, NEXT, 2)
    assert second.started_at == T0 + 3 * HOUR
    assert second.state_at(T0 + 4 * HOUR) is ClockState.BREACHED
    assert second.breached_at == T0 + 3 * HOUR + 30 * MINUTE
    # Another reply with nobody waiting starts nothing.
    sla.agent_reply(T0 + 5 * HOUR)
    assert len(cycles(sla, NEXT)) == 2


def test_next_reply_is_not_paused_by_pending():
    sla = opened(terms(next_=1800))
    sla.agent_reply(T0 + 10 * MINUTE)
    sla.customer_message(T0 + HOUR)
    sla.status_changed("pending", T0 + HOUR + 5 * MINUTE)
    assert clock(sla, NEXT).state_at(T0 + HOUR + 10 * MINUTE) is ClockState.ACTIVE
    assert clock(sla, NEXT).elapsed_at(T0 + HOUR + 10 * MINUTE) == 10 * 60


def test_a_customer_message_that_reopens_a_solved_ticket_starts_a_next_reply_cycle_either_order():
    for message_first in (True, False):
        sla = opened(terms(next_=1800))
        sla.agent_reply(T0 + 10 * MINUTE)
        sla.status_changed("solved", T0 + HOUR)
        if message_first:
            sla.customer_message(T0 + 2 * HOUR)
            sla.status_changed("open", T0 + 2 * HOUR)
        else:
            sla.status_changed("open", T0 + 2 * HOUR)
            sla.customer_message(T0 + 2 * HOUR)
        assert clock(sla, NEXT).started_at == T0 + 2 * HOUR
        assert clock(sla, NEXT).state_at(T0 + 2 * HOUR) is ClockState.ACTIVE


# -- periodic update ------------------------------------------------------------------------------


def test_each_public_reply_fulfils_the_periodic_update_cycle_and_starts_the_next():
    sla = opened(terms(periodic=2 * 3600))
    assert cycles(sla, PERIODIC) == []  # it starts with the first reply
    sla.agent_reply(T0 + HOUR)
    sla.agent_reply(T0 + 2 * HOUR)
    sla.agent_reply(T0 + 5 * HOUR)
    first, second, third = cycles(sla, PERIODIC)
    assert (first.started_at, first.stopped_at) == (T0 + HOUR, T0 + 2 * HOUR)
    assert first.state_at(T0 + 6 * HOUR) is ClockState.FULFILLED
    assert second.state_at(T0 + 6 * HOUR) is ClockState.BREACHED
    assert second.breached_at == T0 + 4 * HOUR
    assert third.state_at(T0 + 6 * HOUR) is ClockState.ACTIVE
    assert third.due_at == T0 + 7 * HOUR


def test_periodic_update_pauses_while_pending_and_stops_when_solved():
    sla = opened(terms(periodic=2 * 3600))
    sla.agent_reply(T0 + HOUR)
    sla.status_changed("pending", T0 + 2 * HOUR)
    assert clock(sla, PERIODIC).state_at(T0 + 10 * HOUR) is ClockState.PAUSED
    assert clock(sla, PERIODIC).elapsed_at(T0 + 10 * HOUR) == 3600
    sla.status_changed("open", T0 + 10 * HOUR)
    assert clock(sla, PERIODIC).due_at == T0 + 11 * HOUR
    sla.status_changed("solved", T0 + 10 * HOUR + 30 * MINUTE)
    periodic = clock(sla, PERIODIC)
    assert periodic.stopped_at == T0 + 10 * HOUR + 30 * MINUTE
    assert periodic.state_at(T0 + 20 * HOUR) is ClockState.FULFILLED
    assert periodic.elapsed_at(T0 + 20 * HOUR) == 1.5 * 3600


def test_reply_then_pending_at_one_instant_equals_pending_then_reply():
    one, other = opened(terms(periodic=3600)), opened(terms(periodic=3600))
    one.agent_reply(T0 + HOUR)
    one.status_changed("pending", T0 + HOUR)
    other.status_changed("pending", T0 + HOUR)
    other.agent_reply(T0 + HOUR)
    assert one.clocks == other.clocks
    assert clock(one, PERIODIC).state_at(T0 + 5 * HOUR) is ClockState.PAUSED


# -- resolution -----------------------------------------------------------------------------------


def test_pending_pauses_resolution_with_elapsed_frozen_and_resuming_moves_the_due_later():
    sla = opened(terms(resolution=8 * 3600))
    assert clock(sla, RESOLUTION).due_at == T0 + 8 * HOUR
    sla.status_changed("pending", T0 + 2 * HOUR)
    paused = clock(sla, RESOLUTION)
    assert paused.state_at(T0 + 30 * HOUR) is ClockState.PAUSED
    assert paused.elapsed_at(T0 + 3 * HOUR) == paused.elapsed_at(T0 + 30 * HOUR) == 2 * 3600
    sla.status_changed("open", T0 + 30 * HOUR)
    resumed = clock(sla, RESOLUTION)
    assert resumed.state_at(T0 + 31 * HOUR) is ClockState.ACTIVE
    assert resumed.due_at == T0 + 36 * HOUR
    assert resumed.elapsed_at(T0 + 31 * HOUR) == 3 * 3600


def test_a_clock_that_breached_before_a_pause_stays_breached_at_its_due():
    sla = opened(terms(resolution=3600))
    sla.status_changed("on_hold", T0 + 2 * HOUR)
    resolution = clock(sla, RESOLUTION)
    assert resolution.state_at(T0 + 3 * HOUR) is ClockState.BREACHED
    assert resolution.view(T0 + 3 * HOUR)["breached_at"] == (T0 + HOUR).isoformat()
    sla.status_changed("solved", T0 + 5 * HOUR)
    assert clock(sla, RESOLUTION).breached_at == T0 + HOUR


def test_solving_then_reopening_resumes_the_same_resolution_clock():
    sla = opened(terms(resolution=8 * 3600))
    sla.status_changed("solved", T0 + 3 * HOUR)
    solved = clock(sla, RESOLUTION)
    assert solved.state_at(T0 + 3 * HOUR) is ClockState.FULFILLED
    assert solved.stopped_at == T0 + 3 * HOUR
    sla.status_changed("open", T0 + 24 * HOUR)
    (reopened,) = cycles(sla, RESOLUTION)
    assert reopened.stopped_at is None
    assert reopened.started_at == T0
    assert reopened.elapsed_at(T0 + 24 * HOUR) == 3 * 3600
    assert reopened.due_at == T0 + 29 * HOUR
    sla.status_changed("solved", T0 + 30 * HOUR)
    assert clock(sla, RESOLUTION).breached_at == T0 + 29 * HOUR


def test_closing_stops_everything_and_nothing_moves_a_closed_ticket():
    sla = opened(terms(first=3600, next_=1800, periodic=3600, resolution=8 * 3600))
    sla.agent_reply(T0 + 10 * MINUTE)
    sla.customer_message(T0 + 20 * MINUTE)
    sla.status_changed("closed", T0 + 30 * MINUTE)
    assert all(c.stopped_at == T0 + 30 * MINUTE for c in sla.clocks if c.metric is not FIRST)
    before = sla.to_dict()
    sla.customer_message(T0 + HOUR)
    sla.agent_reply(T0 + 2 * HOUR)
    sla.status_changed("open", T0 + 3 * HOUR)
    assert sla.to_dict() == before


# -- retargeting ----------------------------------------------------------------------------------


def test_a_priority_change_to_a_shorter_target_brings_the_due_forward():
    sla = opened(terms(first=4 * 3600, resolution=24 * 3600))
    sla.status_changed("pending", T0 + HOUR)
    urgent = terms(first=3600, resolution=8 * 3600, version=2)
    sla.retarget(urgent, T0 + 2 * HOUR)
    assert sla.terms == urgent
    first, resolution = clock(sla, FIRST), clock(sla, RESOLUTION)
    assert first.started_at == T0 and first.target_seconds == 3600
    # Already past the new target at the change: breached from the change on.
    assert first.state_at(T0 + 2 * HOUR) is ClockState.BREACHED
    assert first.due_at == T0 + 2 * HOUR
    # Resolution keeps its hour of elapsed and its pause.
    assert resolution.state_at(T0 + 3 * HOUR) is ClockState.PAUSED
    assert resolution.elapsed_at(T0 + 3 * HOUR) == 3600
    sla.status_changed("open", T0 + 3 * HOUR)
    assert clock(sla, RESOLUTION).due_at == T0 + 10 * HOUR


def test_a_retarget_with_the_same_targets_changes_no_clock():
    sla = opened(terms())
    before = [c.to_dict() for c in sla.clocks]
    sla.retarget(terms(version=2), T0 + HOUR)
    assert [c.to_dict() for c in sla.clocks] == before


def test_a_metric_no_longer_targeted_is_no_longer_measured_but_finished_clocks_stay():
    sla = opened(terms(first=3600, periodic=3600))
    sla.agent_reply(T0 + 10 * MINUTE)
    sla.retarget(terms(first=None, periodic=None), T0 + 20 * MINUTE)
    assert [c.metric for c in sla.clocks] == [FIRST, RESOLUTION]
    assert clock(sla, FIRST).state_at(T0 + HOUR) is ClockState.FULFILLED


def test_a_newly_targeted_metric_starts_from_its_natural_start():
    sla = opened(terms(first=None, resolution=None))
    assert sla.clocks == []
    sla.retarget(terms(first=3600, resolution=8 * 3600), T0 + 30 * MINUTE)
    assert clock(sla, FIRST).started_at == clock(sla, RESOLUTION).started_at == T0
    assert clock(sla, FIRST).due_at == T0 + HOUR
    assert clock(sla, FIRST).elapsed_at(T0 + 30 * MINUTE) == 1800


def test_without_a_policy_nothing_is_measured():
    sla = opened(None)
    sla.agent_reply(T0 + HOUR)
    sla.customer_message(T0 + 2 * HOUR)
    sla.status_changed("solved", T0 + 3 * HOUR)
    assert sla.clocks == [] and sla.terms is None
    assert TicketSla.from_dict(sla.to_dict()) == sla


# -- views, storage, refusals ---------------------------------------------------------------------


def test_a_clock_view_is_plain_json():
    sla = opened(terms(first=3600))
    view = clock(sla, FIRST).view(T0 + 50 * MINUTE)
    assert json.loads(json.dumps(view)) == view
    assert view == {
        "metric": "first_reply",
        "cycle": 1,
        "target_seconds": 3600,
        "state": "active",
        "elapsed_seconds": 3000.0,
        "due_at": "2026-11-11T09:00:00+00:00",
        "warning_at": "2026-11-11T08:45:00+00:00",
        "warning_reached": True,
        "breached_at": None,
        "started_at": "2026-11-11T08:00:00+00:00",
        "stopped_at": None,
    }


def test_a_clock_survives_its_dict_form():
    sla = opened(terms(first=3600))
    sla.agent_reply(T0 + 2 * HOUR)
    for one in sla.clocks:
        assert MetricClock.from_dict(json.loads(json.dumps(one.to_dict()))) == one


def test_instants_in_any_zone_are_kept_in_utc():
    sla = opened(terms(), T0.astimezone(SHANGHAI))
    assert clock(sla, FIRST).started_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: terms(warning=0), "warning_percent"),
        (lambda: terms(warning=100), "warning_percent"),
        (lambda: terms(first=0), "targets.first_reply"),
        (lambda: SlaTerms("p", 1, {"first_answer": 60}, 75, BusinessCalendar.always_open()), "targets"),
        (lambda: opened(terms()).status_changed("archived", T0), "status"),
        (lambda: opened(terms()).agent_reply(datetime(2026, 1, 1)), "at"),
    ],
)
def test_invalid_input_is_refused_naming_the_field(make, field):
    with pytest.raises(InvalidValue) as refused:
        make()
    assert refused.value.field == field


# -- properties over random calendars and random call sequences -----------------------------------


@settings(max_examples=100, deadline=None)
@given(calendars(), instants, st.floats(0, 86_400 * 5), st.floats(0, 86_400 * 5), st.floats(0, 86_400 * 5))
def test_a_paused_interval_adds_nothing_to_resolution(calendar, a, running, paused, running_again):
    b, c = later(a, running), later(a, running + paused)
    d = later(a, running + paused + running_again)
    sla = opened(terms(first=None, resolution=4 * 3600, calendar=calendar), a)
    sla.status_changed("pending", b)
    sla.status_changed("open", c)
    counted = calendar.business_seconds(a, b) + calendar.business_seconds(c, d)
    assert clock(sla, RESOLUTION).elapsed_at(d) == pytest.approx(counted, abs=1e-6)
    assert clock(sla, RESOLUTION).elapsed_at(d) == pytest.approx(
        calendar.business_seconds(a, d) - calendar.business_seconds(b, c), abs=1e-6
    )


STATUSES = ["new", "open", "pending", "on_hold", "solved", "closed"]
TARGET_CHOICES = [None, 60, 1800, 3600, 4 * 3600, 86_400]
targets_st = st.fixed_dictionaries({metric: st.sampled_from(TARGET_CHOICES) for metric in SlaMetric})
terms_st = st.one_of(
    st.none(),
    st.builds(
        lambda targets, warning, calendar, version: SlaTerms(
            "policy-x", version, {m: s for m, s in targets.items() if s is not None}, warning, calendar
        ),
        targets_st,
        st.integers(1, 99),
        calendars(),
        st.integers(1, 3),
    ),
)
gaps = st.sampled_from([0, 0, 30, 600, 3600, 4 * 3600, 86_400, 3 * 86_400]) | st.integers(0, 2 * 86_400)
steps = st.one_of(
    st.tuples(st.just("customer_message"), gaps),
    st.tuples(st.just("agent_reply"), gaps),
    st.tuples(st.just("agent_reply"), gaps),
    st.tuples(st.just("status_changed"), gaps, st.sampled_from(STATUSES)),
    st.tuples(st.just("status_changed"), gaps, st.sampled_from(["open", "pending", "solved"])),
    st.tuples(st.just("retarget"), gaps, terms_st),
)
START = datetime(2026, 3, 20, 7, 30, tzinfo=UTC)  # DST changes in Europe, the US and Australia soon after


def apply(sla: TicketSla, step: tuple, at: datetime) -> None:
    kind, _gap, *args = step
    if kind == "status_changed":
        sla.status_changed(args[0], at)
    elif kind == "retarget":
        sla.retarget(args[0], at)
    else:
        getattr(sla, kind)(at)


def instants_of(steps_: list[tuple]) -> list[datetime]:
    at, found = START, []
    for step in steps_:
        at += timedelta(seconds=step[1])
        found.append(at)
    return found


def check_lawful(sla: TicketSla, now: datetime) -> None:
    by_metric: dict[SlaMetric, list[MetricClock]] = {}
    for one in sla.clocks:
        by_metric.setdefault(one.metric, []).append(one)
        elapsed = one.elapsed_at(now)
        assert 0 <= elapsed <= (now - one.started_at).total_seconds() + 1e-6
        state = one.state_at(now)
        if one.stopped_at is None:
            assert (state is ClockState.BREACHED) == (elapsed >= one.target_seconds)
            if one.running_since is not None and elapsed < one.target_seconds and one.due_at is not None:
                assert one.calendar.business_seconds(now, one.due_at) == pytest.approx(
                    one.target_seconds - elapsed, abs=1e-6
                )
        else:
            assert (state is ClockState.BREACHED) == (elapsed >= one.target_seconds)
            if state is ClockState.BREACHED:
                assert one.breached_at is not None and one.breached_at <= one.stopped_at
        view = one.view(now)
        assert json.loads(json.dumps(view)) == view
    for metric, found in by_metric.items():
        assert sum(1 for c in found if c.stopped_at is None) <= 1
        assert len({c.cycle for c in found}) == len(found)
        if metric in (FIRST, RESOLUTION):
            assert len(found) == 1


@settings(max_examples=150, deadline=None)
@given(terms_st, st.lists(steps, max_size=25), st.data())
def test_random_call_sequences_replay_to_the_same_state_and_survive_json(first_terms, steps_, data):
    times = instants_of(steps_)
    sla = opened(first_terms, START)
    snapshots = [sla.to_dict()]
    previous: dict[tuple, float] = {}
    for step, at in zip(steps_, times):
        apply(sla, step, at)
        snapshots.append(sla.to_dict())
        check_lawful(sla, at)
        # Elapsed time of a clock never runs backwards from one call to the next.
        current = {(c.metric, c.cycle, c.started_at): c.elapsed_at(at) for c in sla.clocks}
        for key, elapsed in current.items():
            if key in previous:
                assert elapsed >= previous[key] - 1e-6
        previous = current
        stored = json.loads(json.dumps(sla.to_dict()))
        assert TicketSla.from_dict(stored) == sla
        assert TicketSla.from_dict(stored).to_dict() == snapshots[-1]

    replay = opened(first_terms, START)
    for step, at in zip(steps_, times):
        apply(replay, step, at)
    assert replay.to_dict() == sla.to_dict()

    # Stored half-way and loaded back, the ticket carries on exactly as the one never stored.
    split = data.draw(st.integers(0, len(steps_)))
    resumed = TicketSla.from_dict(json.loads(json.dumps(snapshots[split])))
    for step, at in zip(steps_[split:], times[split:]):
        apply(resumed, step, at)
    assert resumed.to_dict() == sla.to_dict()
