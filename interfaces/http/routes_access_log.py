"""The access log, for admins: who read what of the audit trail, and when (/v1/audit/access-log)."""
from __future__ import annotations

import re
from datetime import date, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from ledgerdesk.application.access_log import AccessCursor, access_log_page
from ledgerdesk.application.errors import Forbidden
from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.interfaces.settings import ApiKey, Role
from ledgerdesk.projections import cursors

from .deps import ClockDep, LedgerDep, get_principal
from .inputs import Digits, EARLIEST_DAY, checked_day
from .problems import problem_responses
from .responses import PlainJSON

router = APIRouter(prefix="/v1/audit", tags=["audit"])

MAX_DAYS = 366
DEFAULT_DAYS = 7
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class AccessOut(BaseModel):
    id: str
    at: str
    reader: str
    role: str
    what: str
    target: str
    detail: dict[str, Any] | None


class AccessLogPage(BaseModel):
    items: list[AccessOut]
    next_cursor: str | None


async def get_admin(principal: Annotated[ApiKey, Depends(get_principal)]) -> ApiKey:
    if principal.role is not Role.ADMIN:
        raise Forbidden("only an admin reads the access log", field="Authorization")
    return principal


def _day(raw: str | None, name: str) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        if not _ISO_DATE.fullmatch(raw):
            raise ValueError
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidValue(f"{name} is a calendar day written YYYY-MM-DD, not {raw[:40]!r}", field=name) from None
    return checked_day(day, name)


def _cursor(raw: str | None, first: date, last: date) -> AccessCursor | None:
    if raw is None:
        return None
    day_text, after = cursors.decode(raw, [str, int])
    try:
        day = date.fromisoformat(day_text) if _ISO_DATE.fullmatch(day_text) else None
    except ValueError:
        day = None
    if day is None or not first <= day <= last or after < 0:
        raise InvalidValue("not a cursor this query gave out; start again without one", field="cursor")
    return AccessCursor(day, after)


@router.get(
    "/access-log",
    response_model=AccessLogPage,
    responses=problem_responses(403, 422),
    summary="Who read what of the audit trail, and when (admins only)",
    description="Every history and as-of read by an auditor (and, as they come, case exports and verifications), "
    "oldest first, from the log itself. `from` and `to` are UTC days (YYYY-MM-DD, both included, at most "
    f"{MAX_DAYS} apart; by default the last {DEFAULT_DAYS} days ending today); `actor` keeps one reader's. "
    "Resume with `cursor` (`next_cursor`, null once the range is read to its end).",
)
def list_access_log(
    admin: Annotated[ApiKey, Depends(get_admin)],
    ledger: LedgerDep,
    clock: ClockDep,
    date_from: Annotated[str | None, Query(alias="from", description="first UTC day, YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, Query(alias="to", description="last UTC day, YYYY-MM-DD")] = None,
    actor: Annotated[str | None, Query(min_length=1, max_length=128, description="only this reader's (the key's actor)")] = None,
    cursor: Annotated[str | None, Query(max_length=cursors.MAX_CURSOR, description="next_cursor of the page before")] = None,
    limit: Annotated[int, Digits, Query(ge=1, le=1000)] = 100,
) -> PlainJSON:
    first, last = _day(date_from, "from"), _day(date_to, "to")
    last = last if last is not None else clock().astimezone(timezone.utc).date()
    first = first if first is not None else max(last - timedelta(days=DEFAULT_DAYS - 1), EARLIEST_DAY)
    if first > last:
        raise InvalidValue(f"from ({first}) is after to ({last})", field="to" if date_to else "from")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidValue(f"the range spans {(last - first).days + 1} days; at most {MAX_DAYS}", field="from")
    page = access_log_page(ledger.recorder, admin.tenant, first, last, actor, _cursor(cursor, first, last), limit)
    following = page["next_cursor"]
    return PlainJSON({"items": page["items"],
                      "next_cursor": cursors.encode([following.day.isoformat(), following.after_version]) if following else None})
