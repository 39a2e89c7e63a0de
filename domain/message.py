"""Value objects of a message: its author kind and its attachments' metadata."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidValue

MAX_TEXT = 64_000
MAX_ATTACHMENTS = 100


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    size: int

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 255:
            raise InvalidValue("an attachment name has 1 to 255 characters", field="attachments.name")
        if "/" not in self.content_type or len(self.content_type) > 255:
            raise InvalidValue("an attachment content type looks like type/subtype", field="attachments.content_type")
        if self.size < 0:
            raise InvalidValue("an attachment size is not negative", field="attachments.size")

    def as_dict(self) -> dict[str, str | int]:
        return {"name": self.name, "content_type": self.content_type, "size": self.size}


def checked_text(text: str, *, field: str = "text", allow_empty: bool = False) -> str:
    if not allow_empty and not text.strip():
        raise InvalidValue("the text is empty", field=field)
    if len(text) > MAX_TEXT:
        raise InvalidValue(f"the text has more than {MAX_TEXT} characters", field=field)
    return text
