"""Text as read models keep it: shortened excerpts, and values every backend can store."""
from __future__ import annotations

import re

# PostgreSQL text cannot hold NUL; SQLite can. Read models replace it on both, the same way, so a
# rebuild on either gives equal rows. Events keep what was sent (the log is the evidence).
NUL = "\x00"
REPLACEMENT = "\ufffd"
# A NUL inside stored event JSON is always the escape \u0000 (JSON writers escape control
# characters); an escaped backslash before it ("\\u0000") is literal text, not a NUL.
_ESCAPED_NUL = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def excerpt(text: str | None, length: int) -> str | None:
    """The first `length` characters, the last one an ellipsis when cut."""
    if text is None:
        return None
    return text if len(text) <= length else text[: length - 1] + "…"


def storable_json(raw: bytes) -> bytes:
    """Event JSON with every escaped NUL replaced by U+FFFD, before it is parsed."""
    if b"\\u0000" not in raw:
        return raw
    return _ESCAPED_NUL.sub(rb"\1\\ufffd", raw)
