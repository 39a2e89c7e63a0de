"""As-of reads over HTTP: the `as_of` and `version` query parameters, checked at the edge, and the
one way a route reads an aggregate at a moment (`aggregate_at`: replayed, and an auditor's read recorded).

`as_of` is an RFC 3339 instant with an offset (`2026-11-11T23:59:59+08:00`, `…Z`); a naive
time is ambiguous and refused. An instant after now is a 422 naming `as_of` on every as-of
reader (`not_after_now`: aggregates, SLA clocks, case files): nothing has happened then yet, and
answering with today's state would present it as what stood then. An instant before the
aggregate existed is a 404 naming `as_of`; one after its last event is its current state.
`version` is an aggregate version (1 to 2^63-1). Both at once is a 422.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
from fastapi import Depends, Query, Request

from ledgerdesk.application.as_of import Moment
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.domain.errors import InvalidValue

from .access import AccessRecorder
from .deps import ClockDep, unknown_path_id
from .inputs import Digits, LATEST_INSTANT, MAX_VERSION

_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})?")
AS_OF_DESCRIPTION = ("read the state as it stood at this instant (RFC 3339 with an offset, e.g. 2026-11-11T23:59:59+08:00): "
                     "the events stored at or before it, replayed; an instant after now is a 422")


def parsed_as_of(raw: str) -> datetime:
    """An aware instant from RFC 3339 text; an InvalidValue naming `as_of` otherwise."""
    shape = _RFC3339.fullmatch(raw)
    if shape is None:
        raise InvalidValue(f"as_of is an RFC 3339 instant such as 2026-11-11T23:59:59+08:00, not {raw[:40]!r}", field="as_of")
    if shape.group("offset") is None:
        raise InvalidValue("as_of needs an offset (Z or +08:00): a time without one is ambiguous", field="as_of")
    try:
        return datetime.fromisoformat(raw.upper())
    except ValueError:  # 2026-02-30, 24:00, an offset of 25 hours
        raise InvalidValue(f"as_of is not a real instant: {raw[:40]!r}", field="as_of") from None


def not_after_now(moment: datetime, now: datetime) -> datetime:
    """The bound every as_of reader applies: a moment after now has no state yet. Refused, not
    clamped: an auditor who asks about next week must not get today's state dated next week."""
    if moment > now:
        raise InvalidValue(f"as_of is after now ({now.isoformat()}): nothing has happened then yet", field="as_of")
    return moment


async def _refused(request: Request, refused: InvalidValue) -> Exception:
    """An unknown path id is a 404 before any other parameter is checked."""
    return await anyio.to_thread.run_sync(unknown_path_id, request) or refused


async def read_moment(
    request: Request,
    clock: ClockDep,
    as_of: Annotated[str | None, Query(max_length=64, description=AS_OF_DESCRIPTION, json_schema_extra={"format": "date-time"})] = None,
    version: Annotated[int | None, Digits, Query(ge=1, le=MAX_VERSION, description="read the state as of this version "
                                                 "(1: as created); past the latest version: 404")] = None,
) -> Moment | None:
    """None for the current state; else the moment asked for."""
    if as_of is None and version is None:
        return None
    try:
        if as_of is not None and version is not None:
            raise InvalidValue("give as_of or version, not both", field="as_of")
        return Moment(at=not_after_now(parsed_as_of(as_of), clock()) if as_of is not None else None, version=version)
    except InvalidValue as refused:
        raise await _refused(request, refused) from None


async def read_instant(
    request: Request,
    clock: ClockDep,
    as_of: Annotated[str | None, Query(max_length=64, description=AS_OF_DESCRIPTION + "; clocks are judged at it, "
                                       f"before {LATEST_INSTANT.year}", json_schema_extra={"format": "date-time"})] = None,
) -> datetime | None:
    """None for now; else the instant asked for (clocks are judged in business time up to it, so
    not past the years calendars are known for)."""
    if as_of is None:
        return None
    try:
        moment = parsed_as_of(as_of)
        if moment >= LATEST_INSTANT:
            raise InvalidValue(f"SLA clocks are judged up to {LATEST_INSTANT.date()} (exclusive), not {as_of[:40]}", field="as_of")
        return not_after_now(moment, clock())
    except InvalidValue as refused:
        raise await _refused(request, refused) from None


MomentDep = Annotated[Moment | None, Depends(read_moment)]
InstantDep = Annotated[datetime | None, Depends(read_instant)]


AS_OF_READ = ("With `as_of` (an instant) or `version`, the state as it stood then, replayed from the aggregate's own "
              "events (`as_of` is echoed). An instant before it existed, or a version past its latest, is a 404 naming "
              "the parameter; an instant after now, or both at once, a 422. An auditor's as-of read is recorded in the access log.")


def aggregate_at(ledger: Ledger, access: AccessRecorder, tenant: str, kind: type, aggregate_id: UUID, moment: Moment | None,
                 field: str, view: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """The aggregate's view now, or as of `moment` (then echoed, and recorded if an auditor asked)."""
    if moment is None:
        return view(ledger.aggregate(tenant, kind, aggregate_id, field))
    found = ledger.aggregate_as_of(tenant, kind, aggregate_id, moment, field)
    access.record("as_of", f"{kind.__name__.lower()}/{aggregate_id}",
                  {"as_of": moment.at.isoformat() if moment.at is not None else None, "version": moment.version})
    return {**view(found), **moment.echo()}
