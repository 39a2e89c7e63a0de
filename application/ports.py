"""Ports the application needs from the outside world, injected at start-up."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def __call__(self) -> datetime: ...


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


class LanguageDetector(Protocol):
    """The language of a customer's text (ISO 639-1), or None when the detector is unsure."""

    def __call__(self, text: str) -> str | None: ...


def no_language_detection(text: str) -> str | None:
    return None
