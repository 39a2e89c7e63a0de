"""Queries of the support analytics read model: per (UTC day, channel) rows and totals over a range.

Everything is read in one snapshot (`ReadStore.reading()`): the analytics tables in their active
generation, and the SLA clocks (`sla_clocks`, kept by the "inbox" read model) in theirs.

- Days are UTC calendar days; `date_from` and `date_to` are both included.
- Percentiles use linear interpolation between the closest ranks (numpy's default, Excel's
  PERCENTILE.INC): for sorted values v[0..n-1], p(q) = v[k] + (v[k+1] - v[k]) * f where
  k + f = (n - 1) * q. So the median is the usual median (the mean of the two middle values for
  an even count), and p90 of 60, 120, 600 is 504. Durations are in seconds, rounded to the
  millisecond; CSAT averages to 3 decimals; rates to 4. None where there is nothing to measure.
- Totals are computed from the single durations of the whole range (never averages of daily
  medians), from the summed counters and from all SLA clocks of the range.
- SLA attainment for metric M on day D = met / (met + missed): met = M's clocks stopped on D in
  time; missed = M's clocks stopped on D late (`breached_at` set) plus M's clocks still running
  whose `due_at` fell on D and is before `now`. So a day's attainment can still fall while
  its clocks run: it reads the clocks as of `now` (the caller's clock), the rows never do.
- Only (day, channel) pairs with something to show are listed: the days are sparse.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from ..inbox.projection import NAME as SLA_READ_MODEL  # the SLA tables move with the inbox
from ..instants import utc
from ..sla.tables import sla_clocks  # read, never written, here
from ..store import ReadStore
from .projection import NAME
from .tables import analytics_daily, analytics_tickets

SLA_METRICS = ("first_reply", "next_reply", "periodic_update", "resolution")



def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0 ≤ q ≤ 1) of `values`, by linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


@dataclass
class _Bucket:
    opened: int = 0
    solved: int = 0
    csat_sum: int = 0
    csat_count: int = 0
    first_reply: list[float] = field(default_factory=list)
    resolution: list[float] = field(default_factory=list)
    sla: dict[str, list[int]] = field(default_factory=lambda: {m: [0, 0] for m in SLA_METRICS})

    def add(self, other: _Bucket) -> None:
        self.opened += other.opened
        self.solved += other.solved
        self.csat_sum += other.csat_sum
        self.csat_count += other.csat_count
        self.first_reply.extend(other.first_reply)
        self.resolution.extend(other.resolution)
        for metric, (met, missed) in other.sla.items():
            self.sla[metric][0] += met
            self.sla[metric][1] += missed

    def render(self) -> dict[str, Any]:
        return {
            "tickets_opened": self.opened,
            "tickets_solved": self.solved,
            "first_reply_seconds": _durations(self.first_reply),
            "resolution_seconds": _durations(self.resolution),
            "csat": {
                "average": _rounded(self.csat_sum / self.csat_count, 3) if self.csat_count else None,
                "count": self.csat_count,
            },
            "sla_attainment": {
                metric: {"met": met, "missed": missed, "rate": round(met / (met + missed), 4) if met + missed else None}
                for metric, (met, missed) in self.sla.items()
            },
        }


def _durations(values: list[float]) -> dict[str, Any]:
    return {
        "median": _rounded(percentile(values, 0.5), 3),
        "p90": _rounded(percentile(values, 0.9), 3),
        "count": len(values),
    }


def _instant(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def report(
    store: ReadStore,
    tenant: str,
    date_from: date,
    date_to: date,
    channel: str | None = None,
    *,
    now: datetime,
) -> dict[str, Any]:
    """`{"days": [...one row per (day, channel)...], "totals": {...}}` for `date_from`..`date_to` (UTC days, inclusive)."""
    now = utc(now)
    buckets: dict[tuple[date, str], _Bucket] = {}

    def bucket(day: date, channel_of_row: str) -> _Bucket:
        found = buckets.get((day, channel_of_row))
        if found is None:
            found = buckets[(day, channel_of_row)] = _Bucket()
        return found

    with store.reading() as conn:
        generation = store.active_generation(conn, NAME)
        for row in _counters(conn, generation, tenant, date_from, date_to, channel):
            b = bucket(row.day, row.channel)
            b.opened, b.solved, b.csat_sum, b.csat_count = row.opened, row.solved, row.csat_sum, row.csat_count
        t = analytics_tickets
        for day, channel_of_row, seconds in _facts(conn, t.c.first_reply_day, t.c.first_reply_seconds, generation, tenant, date_from, date_to, channel):
            bucket(day, channel_of_row).first_reply.append(seconds)
        for day, channel_of_row, seconds in _facts(conn, t.c.solved_day, t.c.resolution_seconds, generation, tenant, date_from, date_to, channel):
            bucket(day, channel_of_row).resolution.append(seconds)
        sla_generation = store.active_generation(conn, SLA_READ_MODEL)
        for day, channel_of_row, metric, met in _sla_outcomes(conn, sla_generation, tenant, date_from, date_to, channel, now):
            if metric in SLA_METRICS:
                bucket(day, channel_of_row).sla[metric][0 if met else 1] += 1

    totals = _Bucket()
    days = []
    for (day, channel_of_row), b in sorted(buckets.items()):
        totals.add(b)
        days.append({"day": day, "channel": channel_of_row, **b.render()})
    return {"days": days, "totals": totals.render()}


def daily(
    store: ReadStore,
    tenant: str,
    date_from: date,
    date_to: date,
    channel: str | None = None,
    *,
    now: datetime,
) -> list[dict[str, Any]]:
    """One row per (UTC day, channel) with activity in `date_from`..`date_to`; `report` adds the totals."""
    return report(store, tenant, date_from, date_to, channel, now=now)["days"]


def _counters(conn: Connection, generation: int, tenant: str, date_from: date, date_to: date, channel: str | None) -> Iterable[Any]:
    d = analytics_daily
    query = select(d.c.day, d.c.channel, d.c.opened, d.c.solved, d.c.csat_sum, d.c.csat_count).where(
        d.c.generation == generation, d.c.tenant == tenant, d.c.day >= date_from, d.c.day <= date_to
    )
    if channel is not None:
        query = query.where(d.c.channel == channel)
    return conn.execute(query)


def _facts(conn: Connection, day_column: Any, seconds_column: Any, generation: int, tenant: str,
           date_from: date, date_to: date, channel: str | None) -> Iterable[Any]:
    t = analytics_tickets
    query = select(day_column, t.c.channel, seconds_column).where(
        t.c.generation == generation, t.c.tenant == tenant, day_column >= date_from, day_column <= date_to,
        seconds_column.is_not(None),
    )
    if channel is not None:
        query = query.where(t.c.channel == channel)
    return conn.execute(query)


def _sla_outcomes(conn: Connection, generation: int, tenant: str, date_from: date, date_to: date,
                  channel: str | None, now: datetime) -> Iterable[tuple[date, str, str, bool]]:
    """(day, channel, metric, met) of every clock decided on a day of the range, as of `now`."""
    start, end = _instant(date_from), _instant(date_to + timedelta(days=1))
    s = sla_clocks
    stopped = and_(s.c.stopped_at.is_not(None), s.c.stopped_at >= start, s.c.stopped_at < end)
    # A paused clock keeps its last due_at without being breached: only a running clock goes overdue.
    overdue = and_(
        s.c.stopped_at.is_(None), s.c.paused.is_(False), s.c.due_at.is_not(None), s.c.due_at >= start, s.c.due_at < min(end, now)
    )
    query = select(s.c.metric, s.c.channel, s.c.due_at, s.c.stopped_at, s.c.breached_at).where(
        s.c.generation == generation, s.c.tenant == tenant, or_(stopped, overdue)
    )
    if channel is not None:
        query = query.where(s.c.channel == channel)
    for metric, channel_of_row, due_at, stopped_at, breached_at in conn.execute(query):
        if stopped_at is not None:
            yield utc(stopped_at).date(), channel_of_row, metric, breached_at is None
        else:
            yield utc(due_at).date(), channel_of_row, metric, False

