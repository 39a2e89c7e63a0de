"""What input may hold, checked at the edge for every command and query.

Text: no NUL or other C0 control characters (tab, CR and LF aside) and no lone UTF-16
surrogates, in any field, query parameter or header. Such characters are nobody's message; NUL
is refused by PostgreSQL and a lone surrogate by every UTF-8 encoder, so letting one into the
log would only move the failure further in.

Numbers and instants: every integer, position and date has a range that every backend and the
JSON writer can hold, so an out-of-range value is a 422 naming its parameter, never a 500.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Any

from pydantic import BeforeValidator

from ledgerdesk.domain.errors import InvalidValue

# Log positions and aggregate versions are 64-bit signed integers in both backends.
MAX_POSITION = 2**63 - 1
MAX_VERSION = 2**63 - 1
# Days a report may ask about.
EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(2099, 12, 31)
# When a message may say it was sent.
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST_INSTANT = datetime(2100, 1, 1, tzinfo=timezone.utc)

_INTEGER = re.compile(r"-?[0-9]{1,30}")


def _written_in_digits(value: Any) -> Any:
    # Query values arrive as text; pydantic would take "1.0" or "1e3" as an integer, which the
    # document (type: integer) does not allow, so they are refused before it converts them.
    if isinstance(value, str) and not _INTEGER.fullmatch(value):
        raise ValueError("an integer written in digits, e.g. 100")
    return value


# For every integer query parameter: Annotated[int, Digits, Query(...)].
Digits = BeforeValidator(_written_in_digits)

# C0 control characters other than tab, CR and LF: nobody's text.
CONTROL_CHARACTERS = "\x00-\x08\x0b\x0c\x0e-\x1f"
_FORBIDDEN = re.compile(f"[{CONTROL_CHARACTERS}\ud800-\udfff]")


def _offence(text: str) -> str | None:
    found = _FORBIDDEN.search(text)
    if found is None:
        return None
    return f"U+{ord(found.group()):04X} at character {found.start()}"


def control_character_in(value: Any, path: str = "") -> str | None:
    """Where in `value` (a string, or lists and objects of them, keys included) a forbidden
    character stands, described; None when there is none."""
    if isinstance(value, str):
        offence = _offence(value)
        return None if offence is None else (f"{path}: {offence}" if path else offence)
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and (offence := _offence(key)):
                return f"the key {where[:60]!r}: {offence}"
            if found := control_character_in(item, where):
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            if found := control_character_in(item, f"{path}[{index}]" if path else f"[{index}]"):
                return found
    return None


def refuse_control_characters(value: Any, field: str) -> None:
    found = control_character_in(value)
    if found is not None:
        raise InvalidValue(
            f"control characters (other than tab, CR and LF) and lone surrogates are not allowed: {found}", field=field
        )


def checked_instant(value: datetime, field: str) -> datetime:
    """An aware instant from 1970 to 2100."""
    try:
        within = EARLIEST_INSTANT <= value < LATEST_INSTANT
    except (OverflowError, TypeError):
        within = False
    if not within:
        raise InvalidValue(f"an instant from {EARLIEST_INSTANT.date()} to {LATEST_INSTANT.date()} (exclusive), with an offset",
                           field=field)
    return value


def checked_day(value: date, field: str) -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise InvalidValue(f"a day from {EARLIEST_DAY} to {LATEST_DAY}", field=field)
    return value


def parsed_instant(text: str, field: str) -> datetime:
    """An RFC 3339 instant with its offset (`2026-11-11T08:00:00+08:00`, `...Z`), from 1970 to 2100.

    A date alone or a time with no offset is refused: which instant it names depends on a zone."""
    try:
        value = datetime.fromisoformat(text.strip())
    except (TypeError, ValueError):
        raise InvalidValue("an RFC 3339 instant with an offset, e.g. 2026-11-11T08:00:00+08:00", field=field) from None
    if value.tzinfo is None or value.utcoffset() is None or "T" not in text.upper():
        raise InvalidValue("an instant needs a date, a time and an offset (Z or +08:00): without one it is ambiguous",
                           field=field)
    return checked_instant(value, field)
