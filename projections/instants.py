"""Instants as read models store them: in UTC.

SQLite keeps no offset and hands stored instants back naive (they were stored in UTC);
PostgreSQL answers in the session's zone. Every read model and query goes through `utc`.
"""
from __future__ import annotations

from datetime import datetime, timezone


def utc(moment: datetime) -> datetime:
    """An instant in UTC; a naive one was stored in UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else utc(moment).isoformat()


def epoch_ms(moment: datetime) -> int:
    return int(utc(moment).timestamp() * 1000)
