"""Text as read models keep it: shortened excerpts."""
from __future__ import annotations

def excerpt(text: str | None, length: int) -> str | None:
    """The first `length` characters, the last one an ellipsis when cut."""
    if text is None:
        return None
    return text if len(text) <= length else text[: length - 1] + "…"

