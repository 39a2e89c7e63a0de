"""Support analytics from the read model: /v1/analytics."""
from __future__ import annotations

import re
from datetime import date, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.projections.analytics.queries import report
from ledgerdesk.projections.store import ReadStore

from .deps import ClockDep, ReaderDep, read_model
from .inputs import EARLIEST_DAY, checked_day
from .problems import problem_responses
from .responses import PlainJSON

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

DEFAULT_DAYS = 30
MAX_DAYS = 366
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Durations(BaseModel):
    median: float | None
    p90: float | None
    count: int


class Csat(BaseModel):
    average: float | None
    count: int


class Attainment(BaseModel):
    met: int
    missed: int
    rate: float | None


class SlaAttainment(BaseModel):
    first_reply: Attainment
    next_reply: Attainment
    periodic_update: Attainment
    resolution: Attainment


class Figures(BaseModel):
    tickets_opened: int
    tickets_solved: int
    first_reply_seconds: Durations
    resolution_seconds: Durations
    csat: Csat
    sla_attainment: SlaAttainment


class DayFigures(Figures):
    day: date
    channel: Channel


class DailyReport(BaseModel):
    model_config = {"populate_by_name": True}

    from_: date = Field(alias="from")  # `from` on the wire; Python reserves the word
    to: date
    timezone: str
    days: list[DayFigures]
    totals: Figures


def _day(raw: str | None, name: str) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        if not _ISO_DATE.match(raw):
            raise ValueError
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidValue(f"{name} is a calendar day written YYYY-MM-DD, not {raw[:40]!r}", field=name) from None
    return checked_day(day, name)


def _channel(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    try:
        return str(Channel(raw))
    except ValueError:
        known = ", ".join(c.value for c in Channel)
        raise InvalidValue(f"no channel {raw[:40]!r}; the channels are {known}", field="channel") from None


@router.get(
    "/daily",
    response_model=DailyReport,
    responses=problem_responses(422),
    summary="Tickets opened and solved, reply and resolution times, CSAT and SLA attainment per UTC day and channel",
    description="Days are UTC calendar days; `from` and `to` (YYYY-MM-DD) are both included, at most "
    f"{MAX_DAYS} days apart; by default the last {DEFAULT_DAYS} days ending today. Only (day, channel) pairs "
    "with activity are listed. Times are wall-clock seconds: first reply (ticket opened to first public agent "
    "reply, on the reply's day), resolution (opened to latest solve, on that day, for tickets solved now). "
    "Medians and p90 interpolate linearly between closest ranks; `totals` uses every duration in the range. "
    "A re-rating replaces the earlier score. SLA attainment = met / (met + missed) per metric, by the day a "
    "clock stopped or, still running, fell due. Read models follow the log: a command shows here shortly after.",
)
def daily(
    caller: ReaderDep,
    clock: ClockDep,
    store: Annotated[ReadStore, read_model("analytics")],
    date_from: Annotated[str | None, Query(alias="from", description="first UTC day, YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, Query(alias="to", description="last UTC day, YYYY-MM-DD")] = None,
    channel: Annotated[str | None, Query(description="only this channel; empty for all")] = None,
) -> PlainJSON:
    first, last, only = _day(date_from, "from"), _day(date_to, "to"), _channel(channel)
    now = clock()
    today = now.astimezone(timezone.utc).date()
    last = last if last is not None else today
    first = first if first is not None else max(last - timedelta(days=DEFAULT_DAYS - 1), EARLIEST_DAY)
    if first > last:
        raise InvalidValue(f"from ({first}) is after to ({last})", field="to" if date_to else "from")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidValue(f"the range spans {(last - first).days + 1} days; at most {MAX_DAYS}", field="from")
    found = report(store, caller.tenant, first, last, only, now=now)
    return PlainJSON({"from": first, "to": last, "timezone": "UTC", **found})
