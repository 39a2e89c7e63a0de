"""Opaque keyset cursors: the last row's sort key as base64url JSON, checked on the way back in.

A cursor comes back from the caller, so it is untrusted input: every part is checked against
the shape the query gave out (whole numbers within 64 bits, short strings, instants in range),
and anything else is one 422 naming the `cursor` parameter, never a database error.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from ledgerdesk.domain.errors import InvalidValue

from .instants import utc

MAX_CURSOR = 400
MAX_INT = 2**63 - 1
MAX_TEXT = 64


class Instant:
    """A cursor part that is an ISO 8601 instant with an offset, read back as UTC."""


def encode(key: Sequence[Any]) -> str:
    parts = [utc(part).isoformat() if isinstance(part, datetime) else part for part in key]
    return base64.urlsafe_b64encode(orjson.dumps(parts)).rstrip(b"=").decode()


def _part(value: Any, kind: type, max_text: int = MAX_TEXT) -> Any:
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or not -MAX_INT <= value <= MAX_INT:
            raise ValueError(value)
        return value
    if kind is str:
        # Printable only: a NUL would reach the database as a query parameter (PostgreSQL refuses it).
        if not isinstance(value, str) or len(value) > max_text or not value.isprintable():
            raise ValueError(value)
        return value
    if kind is Instant:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise ValueError(value)
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError(value)
        return utc(moment)  # OverflowError near year 1 or 9999: caught below
    raise TypeError(kind)


def decode(cursor: str, shape: Sequence[type], *, field: str = "cursor", max_text: int = MAX_TEXT) -> list[Any]:
    """The key parts of a cursor this API gave out, each of the kind `shape` names (text parts of
    at most `max_text` characters)."""
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError("too long")
        parts = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(parts, list) or len(parts) != len(shape):
            raise ValueError("wrong shape")
        return [_part(value, kind, max_text) for value, kind in zip(parts, shape)]
    except (ValueError, TypeError, OverflowError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidValue("not a cursor this API gave out; start again without one", field=field) from None
