"""Business time on a BusinessCalendar: weekly windows in a zone, holidays, DST, 24x7.

Properties over random calendars and instants pin the arithmetic (monotone, additive, bounded
by wall-clock time, adding then measuring gives back the amount); worked examples pin what a
support lead would expect on a weekend, a public holiday and a DST change.
"""
from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from time import perf_counter
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledgerdesk.domain.business_hours import WEEKDAYS, BusinessCalendar
from ledgerdesk.domain.errors import InvalidValue

pytestmark = pytest.mark.unit

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3600.0

ZONES = [
    "Asia/Shanghai",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "UTC",
    # Edge cases: DST changes at midnight (Havana, Santiago) and by half an hour (Lord Howe).
    "America/Havana",
    "America/Santiago",
    "Australia/Lord_Howe",
]
COUNTRIES = [(None, None), ("CN", None), ("DE", "BY"), ("US", "CA"), ("AU", None)]
SECONDS = 86_400 * 21  # the spans properties look at: up to three weeks


def _clock_time(minutes: int) -> time:
    return time(0, 0) if minutes == 24 * 60 else time(minutes // 60, minutes % 60)


# Strategies are built once here: building them inside a draw costs more than the draws.
_STEPS = st.sampled_from([15, 30, 60])
_BOUNDS = {step: st.sets(st.integers(0, 24 * 60 // step), max_size=6) for step in (15, 30, 60)}
_TOUCHING = st.booleans()


@st.composite
def days(draw: st.DrawFn) -> tuple[tuple[time, time], ...]:
    """0 to 3 ordered, non-overlapping windows on 15, 30 or 60-minute boundaries; they may
    touch (one ends where the next starts), and the last may end at 24:00."""
    step = draw(_STEPS)
    bounds = [i * step for i in sorted(draw(_BOUNDS[step]))]
    if draw(_TOUCHING):
        pairs = list(pairwise(bounds))[:3]
    else:
        pairs = list(zip(bounds[::2], bounds[1::2]))
    return tuple((_clock_time(a), _clock_time(b)) for a, b in pairs)


_WEEKLY = st.lists(days(), min_size=7, max_size=7)
_WEEKDAY = st.integers(0, 6)
_COUNTRY = st.sampled_from(COUNTRIES)
_CLOSED = st.frozensets(st.dates(date(2025, 12, 1), date(2027, 2, 1)), max_size=15)
_ZONE = st.sampled_from(ZONES)
_ALWAYS = st.integers(0, 9)


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    if draw(_ALWAYS) == 0:
        return BusinessCalendar.always_open()
    weekly = draw(_WEEKLY)
    if not any(weekly):
        weekly[draw(_WEEKDAY)] = ((time(9), time(17)),)
    country, subdivision = draw(_COUNTRY)
    return BusinessCalendar(draw(_ZONE), tuple(weekly), country, subdivision, draw(_CLOSED))


# Instants around 2026, at whole seconds or with microseconds, in UTC or another zone.
instants = st.builds(
    lambda base, micro, zone: (base + timedelta(microseconds=micro)).astimezone(ZoneInfo(zone)),
    st.datetimes(datetime(2025, 12, 20), datetime(2027, 1, 10), timezones=st.just(UTC)),
    st.sampled_from([0, 0, 1, 500_000, 999_999]),
    st.sampled_from(ZONES),
)
spans = st.floats(0, SECONDS, allow_nan=False)


def later(at: datetime, seconds: float) -> datetime:
    """`seconds` of real time after `at`, in at's zone (plain + on a zoned datetime adds wall-clock time)."""
    return (at.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(at.tzinfo)


def reachable_due(calendar: BusinessCalendar, start: datetime, amount: float) -> datetime | None:
    """The due instant, or None when the calendar refuses because it truly lacks the time:
    a quarter of an hour a week does not make 3 weeks of business time within 5 years."""
    try:
        return calendar.add_business_seconds(start, amount)
    except InvalidValue:
        assert calendar.business_seconds(start, later(start, 5 * 365 * 86_400)) < amount
        return None


def wall_seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds())

PROPERTY = settings(max_examples=120, deadline=None)


def weekdays_9_to_18(**extra) -> BusinessCalendar:
    return BusinessCalendar.from_dict(
        {
            "kind": "business_hours",
            "timezone": "Asia/Shanghai",
            "weekly": {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
            **extra,
        }
    )


def every_day(zone: str, start: str, end: str) -> BusinessCalendar:
    return BusinessCalendar.from_dict(
        {"kind": "business_hours", "timezone": zone, "weekly": {day: [[start, end]] for day in WEEKDAYS}}
    )


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def day_length(calendar: BusinessCalendar, zone: ZoneInfo, day: date) -> float:
    start = datetime.combine(day, time(0), zone)
    return calendar.business_seconds(start, datetime.combine(day + timedelta(days=1), time(0), zone))


# -- properties -----------------------------------------------------------------------------------


@PROPERTY
@given(calendars(), instants, spans, spans)
def test_elapsed_business_time_never_decreases_as_the_end_grows(calendar, start, a, b):
    near, far = sorted((a, b))
    assert calendar.business_seconds(start, later(start, near)) <= calendar.business_seconds(
        start, later(start, far)
    )


@PROPERTY
@given(calendars(), instants, spans)
def test_adding_business_time_and_measuring_it_back_gives_the_amount(calendar, start, amount):
    due = reachable_due(calendar, start, amount)
    if due is None:
        return
    assert due >= start
    assert due.tzinfo is UTC
    assert calendar.business_seconds(start, due) == pytest.approx(amount, abs=1e-6)


@PROPERTY
@given(calendars(), instants, st.floats(1e-3, SECONDS))
def test_the_due_instant_is_the_earliest_one_that_reaches_the_amount(calendar, start, amount):
    due = reachable_due(calendar, start, amount)
    if due is None:
        return
    assert calendar.business_seconds(start, due - timedelta(microseconds=1)) < amount
    # Reaching the amount uses the last business microsecond before the due instant.
    assert calendar.is_open(due - timedelta(microseconds=1))


@PROPERTY
@given(calendars(), instants, spans, spans)
def test_business_time_is_additive_over_adjacent_intervals(calendar, a, first, second):
    b = later(a, first)
    c = later(b, second)
    whole = calendar.business_seconds(a, c)
    assert whole == pytest.approx(calendar.business_seconds(a, b) + calendar.business_seconds(b, c), abs=1e-6)


@PROPERTY
@given(calendars(), instants, spans, spans, spans)
def test_a_paused_interval_adds_nothing(calendar, a, running, paused, running_again):
    # Summing only the running spans is the whole interval minus the paused span.
    b = later(a, running)
    c = later(b, paused)
    d = later(c, running_again)
    counted = calendar.business_seconds(a, b) + calendar.business_seconds(c, d)
    assert counted == pytest.approx(calendar.business_seconds(a, d) - calendar.business_seconds(b, c), abs=1e-6)
    assert counted <= calendar.business_seconds(a, d) + 1e-6


@PROPERTY
@given(instants, st.floats(-SECONDS, SECONDS, allow_nan=False))
def test_a_24x7_calendar_counts_wall_clock_time(start, seconds):
    calendar = BusinessCalendar.always_open()
    end = later(start, seconds)
    assert calendar.business_seconds(start, end) == wall_seconds(start, end)
    if seconds >= 0:
        assert calendar.add_business_seconds(start, seconds) == later(start, seconds)
    assert calendar.is_open(start)


@PROPERTY
@given(calendars(), instants, st.floats(-SECONDS, SECONDS, allow_nan=False))
def test_business_time_never_exceeds_wall_clock_time(calendar, start, seconds):
    end = later(start, seconds)
    assert 0 <= calendar.business_seconds(start, end) <= wall_seconds(start, end) + 1e-6


@PROPERTY
@given(calendars(), instants)
def test_open_means_the_next_microsecond_is_business_time(calendar, at):
    assert calendar.is_open(at) == (calendar.business_seconds(at, later(at, 1e-6)) > 0)


@PROPERTY
@given(calendars(), instants)
def test_adding_nothing_is_the_start_itself(calendar, start):
    assert calendar.add_business_seconds(start, 0) == start


@settings(max_examples=60, deadline=None)
@given(calendars())
def test_a_calendar_survives_its_dict_form_and_pickling(calendar):
    again = BusinessCalendar.from_dict(calendar.to_dict())
    assert again == calendar and hash(again) == hash(calendar)
    assert pickle.loads(pickle.dumps(calendar)) == calendar


# -- worked examples ------------------------------------------------------------------------------


def test_a_friday_evening_ticket_with_two_business_hours_is_due_monday_at_ten():
    calendar = weekdays_9_to_18()
    due = calendar.add_business_seconds(local(SHANGHAI, 2026, 9, 4, 17), 2 * HOUR)  # a Friday
    assert due == local(SHANGHAI, 2026, 9, 7, 10)
    assert due.tzinfo is UTC
    assert calendar.business_seconds(local(SHANGHAI, 2026, 9, 4, 17), due) == 2 * HOUR


def test_the_weekend_and_the_night_are_closed():
    calendar = weekdays_9_to_18()
    assert calendar.is_open(local(SHANGHAI, 2026, 9, 4, 17, 59))
    assert not calendar.is_open(local(SHANGHAI, 2026, 9, 4, 18))
    assert not calendar.is_open(local(SHANGHAI, 2026, 9, 5, 12))
    assert not calendar.is_open(local(SHANGHAI, 2026, 9, 7, 8, 59))
    assert calendar.business_seconds(local(SHANGHAI, 2026, 9, 4, 18), local(SHANGHAI, 2026, 9, 7, 9)) == 0


def test_chinese_national_day_is_skipped_with_the_cn_holiday_country():
    calendar = weekdays_9_to_18(holiday_country="CN")
    # Wednesday before the Golden Week: the next working day is Thursday 8 October.
    due = calendar.add_business_seconds(local(SHANGHAI, 2026, 9, 30, 17), 2 * HOUR)
    assert due == local(SHANGHAI, 2026, 10, 8, 10)
    assert not calendar.is_open(local(SHANGHAI, 2026, 10, 1, 10))
    without = weekdays_9_to_18()
    assert without.add_business_seconds(local(SHANGHAI, 2026, 9, 30, 17), 2 * HOUR) == local(SHANGHAI, 2026, 10, 1, 10)


def test_an_explicit_holiday_is_skipped():
    calendar = weekdays_9_to_18(holidays=["2026-12-24"])  # a Thursday
    due = calendar.add_business_seconds(local(SHANGHAI, 2026, 12, 23, 17), 2 * HOUR)
    assert due == local(SHANGHAI, 2026, 12, 25, 10)
    assert calendar.business_seconds(local(SHANGHAI, 2026, 12, 24), local(SHANGHAI, 2026, 12, 25)) == 0


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        (BERLIN, date(2026, 3, 29), 23),
        (BERLIN, date(2026, 10, 25), 25),
        (BERLIN, date(2026, 3, 30), 24),
        (NEW_YORK, date(2026, 3, 8), 23),
        (NEW_YORK, date(2026, 11, 1), 25),
    ],
)
def test_an_all_day_window_on_a_dst_change_is_as_long_as_the_day(zone, day, hours):
    calendar = every_day(zone.key, "00:00", "24:00")
    assert day_length(calendar, zone, day) == hours * HOUR


@pytest.mark.parametrize(
    ("zone", "day"),
    [(BERLIN, date(2026, 3, 29)), (BERLIN, date(2026, 10, 25)), (NEW_YORK, date(2026, 3, 8)), (NEW_YORK, date(2026, 11, 1))],
)
def test_a_nine_to_five_window_keeps_eight_hours_on_a_dst_change(zone, day):
    calendar = every_day(zone.key, "09:00", "17:00")
    assert day_length(calendar, zone, day) == 8 * HOUR
    assert calendar.add_business_seconds(datetime.combine(day, time(9), zone), 8 * HOUR) == datetime.combine(
        day, time(17), zone
    )


def test_a_day_of_business_time_across_spring_forward_ends_an_hour_later_on_the_clock():
    calendar = every_day("Europe/Berlin", "00:00", "24:00")
    due = calendar.add_business_seconds(local(BERLIN, 2026, 3, 28, 12), 24 * HOUR)
    assert due == local(BERLIN, 2026, 3, 29, 13)


def test_a_window_in_the_skipped_hour_is_empty_and_one_in_the_repeated_hour_counts_twice():
    calendar = BusinessCalendar.from_dict(
        {"kind": "business_hours", "timezone": "Europe/Berlin", "weekly": {"sun": [["02:00", "02:30"], ["02:30", "04:00"]]}}
    )
    # 29 March: 02:00-03:00 does not exist, so 02:00-02:30 is nothing and 02:30-04:00 is 03:00-04:00.
    assert day_length(calendar, BERLIN, date(2026, 3, 29)) == 1 * HOUR
    # 25 October: 02:00-03:00 happens twice; from the first 02:00 to 04:00 is 3 hours.
    assert day_length(calendar, BERLIN, date(2026, 10, 25)) == 3 * HOUR


def test_a_window_may_end_at_midnight_and_windows_may_touch():
    calendar = BusinessCalendar.from_dict(
        {"kind": "business_hours", "timezone": "UTC", "weekly": {"mon": [["09:00", "12:00"], ["12:00", "24:00"]]}}
    )
    assert calendar.weekly[0] == ((time(9), time(12)), (time(12), time(0)))
    assert calendar.business_seconds(datetime(2026, 9, 7, tzinfo=UTC), datetime(2026, 9, 8, tzinfo=UTC)) == 15 * HOUR
    assert calendar.to_dict()["weekly"]["mon"] == [["09:00", "12:00"], ["12:00", "24:00"]]


def test_a_calendar_with_no_business_time_ahead_refuses_to_add():
    mondays = [date(2026, 1, 5) + timedelta(weeks=n) for n in range(5 * 53)]
    calendar = BusinessCalendar.from_dict(
        {
            "kind": "business_hours",
            "timezone": "UTC",
            "weekly": {"mon": [["09:00", "10:00"]]},
            "holidays": [day.isoformat() for day in mondays],
        }
    )
    with pytest.raises(InvalidValue) as refused:
        calendar.add_business_seconds(datetime(2026, 1, 1, tzinfo=UTC), 60)
    assert refused.value.field == "calendar"


def test_the_dict_form_is_the_api_form():
    calendar = weekdays_9_to_18(holiday_country="cn", holidays=["2026-10-09", "2026-10-08"])
    assert calendar.to_dict() == {
        "kind": "business_hours",
        "timezone": "Asia/Shanghai",
        "weekly": {
            "mon": [["09:00", "18:00"]],
            "tue": [["09:00", "18:00"]],
            "wed": [["09:00", "18:00"]],
            "thu": [["09:00", "18:00"]],
            "fri": [["09:00", "18:00"]],
            "sat": [],
            "sun": [],
        },
        "holiday_country": "CN",
        "holiday_subdivision": None,
        "holidays": ["2026-10-08", "2026-10-09"],
    }
    assert BusinessCalendar.from_dict(calendar.to_dict()) == calendar
    assert BusinessCalendar.from_dict({"kind": "24x7"}) == BusinessCalendar.always_open()
    assert BusinessCalendar.always_open().to_dict() == {"kind": "24x7"}
    assert BusinessCalendar.always_open().is_always_open and not calendar.is_always_open


def test_a_subdivision_is_spelt_as_the_holidays_package_spells_it():
    calendar = weekdays_9_to_18(holiday_country="us", holiday_subdivision="ca")
    assert (calendar.holiday_country, calendar.holiday_subdivision) == ("US", "CA")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "calendar.timezone"),
        ({"timezone": None}, "calendar.timezone"),
        ({"holiday_country": "XX"}, "calendar.holiday_country"),
        ({"holiday_country": "CN", "holiday_subdivision": "ZZ"}, "calendar.holiday_subdivision"),
        ({"holiday_subdivision": "CA"}, "calendar.holiday_subdivision"),
        ({"weekly": {}}, "calendar.weekly"),
        ({"weekly": {"mon": []}}, "calendar.weekly"),
        ({"weekly": {"monday": [["09:00", "18:00"]]}}, "calendar.weekly.monday"),
        ({"weekly": {"mon": [["18:00", "09:00"]]}}, "calendar.weekly.mon"),
        ({"weekly": {"mon": [["09:00", "09:00"]]}}, "calendar.weekly.mon"),
        ({"weekly": {"tue": [["09:00", "13:00"], ["12:00", "18:00"]]}}, "calendar.weekly.tue"),
        ({"weekly": {"tue": [["13:00", "18:00"], ["09:00", "12:00"]]}}, "calendar.weekly.tue"),
        ({"weekly": {"wed": [["24:00", "24:00"]]}}, "calendar.weekly.wed"),
        ({"weekly": {"wed": [["9:00", "18:00"]]}}, "calendar.weekly.wed"),
        ({"weekly": {"wed": [["09:00"]]}}, "calendar.weekly.wed"),
        ({"holidays": ["2026-02-30"]}, "calendar.holidays"),
        ({"holidays": "2026-10-01"}, "calendar.holidays"),
        ({"opening_hours": {}}, "calendar.opening_hours"),
        ({"kind": "office"}, "calendar.kind"),
    ],
)
def test_an_invalid_calendar_is_refused_naming_the_field(change, field):
    data = {"kind": "business_hours", "timezone": "Asia/Shanghai", "weekly": {"mon": [["09:00", "18:00"]]}, **change}
    with pytest.raises(InvalidValue) as refused:
        BusinessCalendar.from_dict(data)
    assert refused.value.field == field


def test_a_24x7_calendar_has_only_its_kind():
    with pytest.raises(InvalidValue) as refused:
        BusinessCalendar.from_dict({"kind": "24x7", "timezone": "UTC"})
    assert refused.value.field == "calendar.timezone"


def test_errors_can_name_the_calendar_where_it_sits_in_a_request():
    with pytest.raises(InvalidValue) as refused:
        BusinessCalendar.from_dict({"kind": "business_hours", "timezone": "Nowhere", "weekly": {}}, field="policy.calendar")
    assert refused.value.field == "policy.calendar.timezone"


def test_a_naive_datetime_is_refused():
    calendar = weekdays_9_to_18()
    with pytest.raises(InvalidValue):
        calendar.is_open(datetime(2026, 9, 4, 12))
    with pytest.raises(InvalidValue):
        calendar.business_seconds(datetime(2026, 9, 4, 12), datetime(2026, 9, 5, tzinfo=UTC))
    with pytest.raises(InvalidValue):
        BusinessCalendar.always_open().add_business_seconds(datetime(2026, 9, 4, 12), 60)


@pytest.mark.parametrize("amount", [-1, float("nan"), float("inf")])
def test_only_a_finite_non_negative_amount_can_be_added(amount):
    with pytest.raises(InvalidValue) as refused:
        weekdays_9_to_18().add_business_seconds(datetime(2026, 9, 4, tzinfo=UTC), amount)
    assert refused.value.field == "seconds"


def test_a_direct_construction_is_checked_too():
    with pytest.raises(InvalidValue):
        BusinessCalendar("Asia/Shanghai", ((),) * 7)
    with pytest.raises(InvalidValue):
        BusinessCalendar(None, ((),) * 7)
    with pytest.raises(InvalidValue):
        BusinessCalendar("Asia/Shanghai", (((time(9), time(18)),),) * 6)


def test_a_year_of_daily_measurements_is_fast():
    # The projection measures every ticket at every event; a year-old ticket must stay cheap.
    calendar = weekdays_9_to_18(holiday_country="CN")
    start = local(SHANGHAI, 2026, 1, 1)
    began = perf_counter()
    for hour in range(0, 24 * 365, 6):
        at = start + timedelta(hours=hour)
        calendar.business_seconds(start, at)
        calendar.add_business_seconds(at, 8 * HOUR)
    assert perf_counter() - began < 5


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "right/UTC", "../../etc/passwd"])
def test_a_zone_is_an_iana_name_not_one_the_host_decides(zone):
    """Hostile run: "localtime", "posixrules", "Factory" and "right/UTC" were accepted, meaning what the host says."""
    with pytest.raises(InvalidValue):
        BusinessCalendar.from_dict({"kind": "business_hours", "timezone": zone, "weekly": {"mon": [["09:00", "18:00"]]}})


@pytest.mark.parametrize(("window", "holidays"), [
    (["09:00\n", "18:00"], []),
    (["09:00", "18:00"], ["20261231"]),
    (["09:00", "18:00"], ["2026-W53-4"]),
    (["09:00", "18:00"], ["0001-01-01"]),
    (["09:00", "18:00"], ["9999-12-31"]),
])
def test_times_and_holidays_are_written_one_way(window, holidays):
    """Hostile run: "09:00\\n" passed as a time ("$" matches before a trailing newline), and holidays in
    other ISO spellings or in years 1 and 9999 were taken."""
    with pytest.raises(InvalidValue):
        BusinessCalendar.from_dict({"kind": "business_hours", "timezone": "Asia/Shanghai", "weekly": {"mon": [window]},
                                    "holidays": holidays})
