"""Business-hours calendars: when a support team is open, and business time between instants.

A calendar is either 24x7 or weekly local wall-clock windows in an IANA zone, minus holidays
(a country's public holidays from the `holidays` package, and explicit dates). Each local day's
windows become UTC intervals through zoneinfo, so DST days are as long as they really are.
Everything is pure and cached per (calendar, local date): SLA clocks call this for every event.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays as holidays_lib

from .errors import InvalidValue

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_WINDOWS_PER_DAY = 24
MAX_HOLIDAYS = 1000
# add_business_seconds gives up after this many local days: a calendar whose open days are all
# holidays would otherwise scan forever.
SCAN_DAYS = 5 * 366

MIDNIGHT = time(0, 0)
ALL_DAY = ((MIDNIGHT, MIDNIGHT),)
_ZERO = timedelta(0)
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")  # fullmatch: "$" would let "09:00\n" through
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# Holidays outside these years are typos, not holidays (and the holidays package has no data there).
HOLIDAY_YEARS = range(1970, 2101)
# Zone names whose meaning depends on the host, not on the IANA database.
_HOST_ZONES = frozenset({"localtime", "Factory", "posixrules"})

Window = tuple[time, time]
Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class BusinessCalendar:
    """When the team works. timezone None is 24x7; a window ending at time(0, 0) ends at 24:00."""

    timezone: str | None
    weekly: tuple[tuple[Window, ...], ...]
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # Lists are accepted and frozen into tuples, so every calendar is hashable (cache keys).
        weekly = _frozen_weekly(self.weekly, "calendar.weekly")
        object.__setattr__(self, "weekly", weekly)
        try:
            closed = frozenset(self.holidays)
        except TypeError:
            raise InvalidValue("holidays is a set of dates", field="calendar.holidays") from None
        object.__setattr__(self, "holidays", closed)
        if self.timezone is None:
            if weekly != (ALL_DAY,) * 7 or self.holiday_country or self.holiday_subdivision or closed:
                raise InvalidValue(
                    "a 24x7 calendar (no time zone) is open all day every day and has no holidays",
                    field="calendar.timezone",
                )
        else:
            _checked_zone(self.timezone, "calendar.timezone")
            for day, name in zip(weekly, WEEKDAYS):
                _check_day(day, f"calendar.weekly.{name}")
            if not any(weekly):
                raise InvalidValue("a business_hours calendar has some working hours in the week", field="calendar.weekly")
            _check_country(self.holiday_country, self.holiday_subdivision, "calendar")
            _check_holidays(closed, "calendar.holidays")
        # Hashed once: the per-day caches hash the calendar on every lookup.
        object.__setattr__(
            self,
            "_hash",
            hash((self.timezone, weekly, self.holiday_country, self.holiday_subdivision, closed)),
        )

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined]

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt through the constructor: a string's hash differs between processes.
        return (type(self), (self.timezone, self.weekly, self.holiday_country, self.holiday_subdivision, self.holidays))

    @classmethod
    def always_open(cls) -> BusinessCalendar:
        return _ALWAYS_OPEN

    @property
    def is_always_open(self) -> bool:
        return self.timezone is None

    # -- dict form (the HTTP API's and the stored events') ---------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, field: str = "calendar") -> BusinessCalendar:
        """Check a calendar in its dict form; errors name the field at fault under `field`."""
        if not isinstance(data, Mapping):
            raise InvalidValue('a calendar is {"kind": "24x7"} or {"kind": "business_hours", ...}', field=field)
        kind = data.get("kind")
        if kind == "24x7":
            for key in data:
                if key != "kind":
                    raise InvalidValue("a 24x7 calendar has only its kind", field=f"{field}.{str(key)[:40]}")
            return _ALWAYS_OPEN
        if kind != "business_hours":
            raise InvalidValue("a calendar's kind is 24x7 or business_hours", field=f"{field}.kind")
        for key in data:
            if key not in _BUSINESS_HOURS_KEYS:
                raise InvalidValue(
                    f"a business_hours calendar has only {', '.join(_BUSINESS_HOURS_KEYS)}",
                    field=f"{field}.{str(key)[:40]}",
                )
        zone = data.get("timezone")
        _checked_zone(zone, f"{field}.timezone")
        weekly_raw = data.get("weekly")
        if not isinstance(weekly_raw, Mapping):
            raise InvalidValue(f"weekly is an object of {', '.join(WEEKDAYS)}", field=f"{field}.weekly")
        for key in weekly_raw:
            if key not in WEEKDAYS:
                raise InvalidValue(f"weekly has only {', '.join(WEEKDAYS)}", field=f"{field}.weekly.{str(key)[:40]}")
        weekly = tuple(_parsed_day(weekly_raw.get(name) or [], f"{field}.weekly.{name}") for name in WEEKDAYS)
        if not any(weekly):
            raise InvalidValue("a business_hours calendar has some working hours in the week", field=f"{field}.weekly")
        country, subdivision = _canonical_country(data.get("holiday_country"), data.get("holiday_subdivision"), field)
        raw_days = data.get("holidays")
        raw_days = [] if raw_days is None else raw_days
        if not isinstance(raw_days, (list, tuple)) or len(raw_days) > MAX_HOLIDAYS:
            raise InvalidValue(f"holidays is a list of at most {MAX_HOLIDAYS} dates", field=f"{field}.holidays")
        days = set()
        for raw in raw_days:
            try:
                if not isinstance(raw, str) or not _DAY.fullmatch(raw):
                    raise ValueError(raw)
                day = date.fromisoformat(raw)
                if day.year not in HOLIDAY_YEARS:
                    raise ValueError(raw)
            except (TypeError, ValueError):
                raise InvalidValue(
                    f"a holiday is a date from 1970 to 2100 such as 2026-10-01, not {str(raw)[:40]!r}", field=f"{field}.holidays"
                ) from None
            days.add(day)
        return cls(zone, weekly, country, subdivision, frozenset(days))

    def to_dict(self) -> dict[str, Any]:
        """The canonical dict form; shared between calls (a read model stores it per ticket), so do not mutate it."""
        return _calendar_dict(self)

    def _as_dict(self) -> dict[str, Any]:
        if self.timezone is None:
            return {"kind": "24x7"}
        return {
            "kind": "business_hours",
            "timezone": self.timezone,
            "weekly": {
                name: [[_clock(start), "24:00" if end == MIDNIGHT else _clock(end)] for start, end in day]
                for name, day in zip(WEEKDAYS, self.weekly)
            },
            "holiday_country": self.holiday_country,
            "holiday_subdivision": self.holiday_subdivision,
            "holidays": sorted(day.isoformat() for day in self.holidays),
        }

    # -- business time ----------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        at = _utc(at, "at")
        if self.timezone is None:
            return True
        local = at.astimezone(_zone(self.timezone)).date()
        return any(
            start <= at < end
            for day in _days(local - _ONE_DAY, local + _ONE_DAY)
            for start, end in _day_windows(self, day)
        )

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """Business time in [start, end), in seconds; 0 when end <= start."""
        return _business_time(self, _utc(start, "start"), _utc(end, "end")).total_seconds()

    def add_business_seconds(self, start: datetime, seconds: float) -> datetime:
        """The earliest instant t >= start with business_seconds(start, t) == seconds (to the microsecond)."""
        start = _utc(start, "start")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
            raise InvalidValue("business seconds to add are a finite number of at least 0", field="seconds")
        return _add_business_time(self, start, timedelta(seconds=seconds))


_BUSINESS_HOURS_KEYS = ("kind", "timezone", "weekly", "holiday_country", "holiday_subdivision", "holidays")
_ONE_DAY = timedelta(days=1)


# -- checks --------------------------------------------------------------------------------------


@cache
def _iana_zones() -> frozenset[str]:
    return frozenset(available_timezones()) - _HOST_ZONES


def _checked_zone(name: Any, field: str) -> ZoneInfo:
    try:
        if not isinstance(name, str) or name not in _iana_zones():
            raise ValueError(name)
        return _zone(name)
    except (ValueError, ZoneInfoNotFoundError, OSError):
        raise InvalidValue(f"an IANA time zone such as Asia/Shanghai, not {name!r}", field=field) from None


def _minutes(start_or_end: time, *, end: bool) -> int:
    minutes = start_or_end.hour * 60 + start_or_end.minute
    return 24 * 60 if end and minutes == 0 else minutes


def _frozen_weekly(weekly: Any, field: str) -> tuple[tuple[Window, ...], ...]:
    try:
        frozen = tuple(tuple((start, end) for start, end in day) for day in weekly)
    except (TypeError, ValueError):
        raise InvalidValue("weekly is 7 days, Monday first, of (start, end) windows", field=field) from None
    if len(frozen) != 7:
        raise InvalidValue("weekly is 7 days, Monday first, of (start, end) windows", field=field)
    return frozen


def _check_day(day: tuple[Window, ...], field: str) -> None:
    if len(day) > MAX_WINDOWS_PER_DAY:
        raise InvalidValue(f"a day has at most {MAX_WINDOWS_PER_DAY} windows", field=field)
    previous_end = 0
    for start, end in day:
        for moment in (start, end):
            if not isinstance(moment, time) or moment.tzinfo is not None or moment.second or moment.microsecond:
                raise InvalidValue("a window's start and end are local times in whole minutes", field=field)
        begins, ends = _minutes(start, end=False), _minutes(end, end=True)
        if not begins < ends:
            raise InvalidValue(f"a window starts before it ends: {_clock(start)}-{_clock(end)}", field=field)
        if begins < previous_end:
            raise InvalidValue("a day's windows are in order and do not overlap", field=field)
        previous_end = ends


def _parsed_clock(raw: Any, *, end: bool, field: str) -> time:
    if end and raw == "24:00":
        return MIDNIGHT
    match = _CLOCK.fullmatch(raw) if isinstance(raw, str) else None
    if match is None:
        allowed = "00:00 to 24:00" if end else "00:00 to 23:59"
        raise InvalidValue(f'a time of day is "HH:MM" from {allowed}, not {raw!r}', field=field)
    return time(int(match[1]), int(match[2]))


def _parsed_day(raw: Any, field: str) -> tuple[Window, ...]:
    if not isinstance(raw, (list, tuple)):
        raise InvalidValue('a day is a list of ["HH:MM", "HH:MM"] windows', field=field)
    day = []
    for window in raw:
        if not isinstance(window, (list, tuple)) or len(window) != 2:
            raise InvalidValue(f'a window is ["HH:MM", "HH:MM"], not {window!r}', field=field)
        day.append((_parsed_clock(window[0], end=False, field=field), _parsed_clock(window[1], end=True, field=field)))
    frozen = tuple(day)
    _check_day(frozen, field)
    return frozen


@lru_cache(maxsize=1024)
def _calendar_dict(calendar: BusinessCalendar) -> dict[str, Any]:
    return calendar._as_dict()


@lru_cache(maxsize=1)
def _supported_countries() -> dict[str, tuple[str, ...]]:
    return {country: tuple(subdivisions) for country, subdivisions in holidays_lib.list_supported_countries().items()}


def _canonical_country(country: Any, subdivision: Any, field: str) -> tuple[str | None, str | None]:
    """The country upper-cased and the subdivision spelt as the holidays package spells it."""
    if country is not None:
        if not isinstance(country, str):
            raise InvalidValue("holiday_country is a country code such as CN, or null", field=f"{field}.holiday_country")
        country = country.strip().upper()
    if subdivision is not None:
        if country is None or not isinstance(subdivision, str):
            raise InvalidValue(
                "holiday_subdivision is a subdivision code within holiday_country, or null",
                field=f"{field}.holiday_subdivision",
            )
        wanted = subdivision.strip().upper()
        known = _supported_countries().get(country, ())
        subdivision = next((code for code in known if code.upper() == wanted), subdivision)
    _check_country(country, subdivision, field)
    return country, subdivision


def _check_country(country: str | None, subdivision: str | None, field: str) -> None:
    if country is None:
        if subdivision is not None:
            raise InvalidValue("a holiday_subdivision needs a holiday_country", field=f"{field}.holiday_subdivision")
        return
    supported = _supported_countries()
    if country not in supported:
        raise InvalidValue(
            f"no public holidays are known for country {country!r}; use a code such as CN",
            field=f"{field}.holiday_country",
        )
    if subdivision is not None and subdivision not in supported[country]:
        known = ", ".join(supported[country]) or "none"
        raise InvalidValue(
            f"{country} has no subdivision {subdivision!r} (known: {known})",
            field=f"{field}.holiday_subdivision",
        )


def _check_holidays(days: frozenset[Any], field: str) -> None:
    if len(days) > MAX_HOLIDAYS:
        raise InvalidValue(f"at most {MAX_HOLIDAYS} holidays", field=field)
    # datetime is a date subclass, but a holiday is a whole local day.
    if any(not isinstance(day, date) or isinstance(day, datetime) for day in days):
        raise InvalidValue("holidays are dates", field=field)


def _clock(moment: time) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


# -- local days to UTC windows -------------------------------------------------------------------


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _utc(moment: datetime, field: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidValue("an instant has a time zone (a naive datetime is ambiguous)", field=field)
    return moment.astimezone(UTC)


def _to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A local wall-clock time as one instant: nonexistent times (a spring-forward gap) are the
    instant the gap ends; ambiguous ones (a fall-back hour) are their first occurrence.

    Both rules keep the mapping non-decreasing in wall-clock time, so a window's end is never
    before its start, and 24:00 of one day is exactly 00:00 of the next (days tile without overlap).
    """
    first = local.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the earlier offset
    if first.astimezone(zone).replace(tzinfo=None) == local:
        return first
    # In a gap fold=0 lands after the transition and fold=1 before it; the transition is the first
    # instant whose wall clock reads past `local`. Transitions fall on whole seconds.
    low = math.floor(local.replace(tzinfo=zone, fold=1).timestamp())
    high = math.ceil(first.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) > local:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


@lru_cache(maxsize=256)
def _country_days(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    found = holidays_lib.country_holidays(country, subdiv=subdivision, years=year)
    return frozenset(day for day in found if day.year == year)


@lru_cache(maxsize=65536)
def _day_windows(calendar: BusinessCalendar, day: date) -> tuple[Interval, ...]:
    """The UTC intervals in which the calendar is open on one of its local dates."""
    if day in calendar.holidays:
        return ()
    if calendar.holiday_country is not None and day in _country_days(
        calendar.holiday_country, calendar.holiday_subdivision, day.year
    ):
        return ()
    zone = _zone(calendar.timezone)  # type: ignore[arg-type]
    windows = []
    for start, end in calendar.weekly[day.weekday()]:
        begins = _to_utc(datetime.combine(day, start), zone)
        local_end = datetime.combine(day + _ONE_DAY, MIDNIGHT) if end == MIDNIGHT else datetime.combine(day, end)
        ends = _to_utc(local_end, zone)
        if ends > begins:  # a window inside a spring-forward gap is empty
            windows.append((begins, ends))
    return tuple(windows)


@lru_cache(maxsize=65536)
def _day_length(calendar: BusinessCalendar, day: date) -> timedelta:
    return sum((end - start for start, end in _day_windows(calendar, day)), _ZERO)


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += _ONE_DAY


def _business_time(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    if end <= start:
        return _ZERO
    if calendar.timezone is None:
        return end - start
    zone = _zone(calendar.timezone)
    total = _ZERO
    # A day's windows lie within its local midnights, so a day either side is enough margin.
    for day in _days(start.astimezone(zone).date() - _ONE_DAY, end.astimezone(zone).date() + _ONE_DAY):
        windows = _day_windows(calendar, day)
        if not windows:
            continue
        if start <= windows[0][0] and windows[-1][1] <= end:
            total += _day_length(calendar, day)
            continue
        for begins, ends in windows:
            overlap = min(ends, end) - max(begins, start)
            if overlap > _ZERO:
                total += overlap
    return total


def _add_business_time(calendar: BusinessCalendar, start: datetime, amount: timedelta) -> datetime:
    if amount <= _ZERO:
        return start
    if calendar.timezone is None:
        return start + amount
    remaining = amount
    first = start.astimezone(_zone(calendar.timezone)).date() - _ONE_DAY
    for day in _days(first, first + timedelta(days=SCAN_DAYS)):
        windows = _day_windows(calendar, day)
        if not windows or windows[-1][1] <= start:
            continue
        if start <= windows[0][0] and _day_length(calendar, day) < remaining:
            remaining -= _day_length(calendar, day)
            continue
        for begins, ends in windows:
            begins = max(begins, start)
            if ends <= begins:
                continue
            if remaining <= ends - begins:
                return begins + remaining
            remaining -= ends - begins
    raise InvalidValue(
        f"the calendar has not {amount.total_seconds():g} business seconds within {SCAN_DAYS // 366} years of {start.isoformat()}",
        field="calendar",
    )


_ALWAYS_OPEN = BusinessCalendar(None, (ALL_DAY,) * 7)
