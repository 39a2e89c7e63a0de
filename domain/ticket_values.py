"""Value objects of a ticket: status and its lifecycle, priority, category, tags, order ids, rating."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from .errors import IllegalTransition, InvalidValue


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"


# Which status may follow which. Closed is final; solved only reopens or closes.
ALLOWED_TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset({TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD, TicketStatus.SOLVED}),
    TicketStatus.OPEN: frozenset({TicketStatus.PENDING, TicketStatus.ON_HOLD, TicketStatus.SOLVED}),
    TicketStatus.PENDING: frozenset({TicketStatus.OPEN, TicketStatus.ON_HOLD, TicketStatus.SOLVED}),
    TicketStatus.ON_HOLD: frozenset({TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.SOLVED}),
    TicketStatus.SOLVED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}

# Statuses in which a customer's new message sends the ticket back to the agents.
REOPENED_BY_CUSTOMER = frozenset({TicketStatus.PENDING, TicketStatus.ON_HOLD, TicketStatus.SOLVED})


def check_transition(current: TicketStatus, target: TicketStatus) -> None:
    if target not in ALLOWED_TRANSITIONS[current]:
        if current is TicketStatus.CLOSED:
            raise IllegalTransition("the ticket is closed, and closed is final", field="status")
        raise IllegalTransition(f"a {current} ticket cannot become {target}", field="status")


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


# Members are declared from least to most urgent, so their order is the order of urgency.
_PRIORITY_LEVEL = {priority: level for level, priority in enumerate(Priority)}


def priority_level(priority: Priority | str) -> int:
    """0 for low up to 3 for urgent: higher is more urgent."""
    return _PRIORITY_LEVEL[Priority(priority)]


def raised_priority(priority: Priority | str, steps: int = 1) -> Priority:
    """`steps` more urgent, stopping at urgent."""
    levels = list(Priority)
    return levels[min(priority_level(priority) + steps, len(levels) - 1)]


def higher_priority(first: Priority | str, second: Priority | str) -> Priority:
    """The more urgent of the two (automation raises priorities, it never lowers them)."""
    return max(Priority(first), Priority(second), key=priority_level)


class Category(StrEnum):
    ORDER = "order"
    LOGISTICS = "logistics"
    REFUND = "refund"
    RETURN = "return"
    PAYMENT = "payment"
    COMPLAINT = "complaint"
    PRODUCT = "product"
    ACCOUNT = "account"
    OTHER = "other"


_TAG = re.compile(r"^[\w\-.:/]{1,64}$")


def checked_tag(raw: str) -> str:
    tag = raw.strip().lower()
    if not _TAG.match(tag):
        raise InvalidValue(f"a tag has 1 to 64 letters, digits or - _ . : / and no spaces: {raw!r}", field="tags")
    return tag


def checked_order_id(raw: str, *, field: str = "order_id") -> str:
    order_id = raw.strip()
    if not order_id or len(order_id) > 128:
        raise InvalidValue("an order id has 1 to 128 characters", field=field)
    return order_id


def checked_subject(raw: str) -> str:
    subject = " ".join(raw.split())
    if not subject or len(subject) > 300:
        raise InvalidValue("a subject has 1 to 300 characters", field="subject")
    return subject


def checked_member_id(raw: str, *, field: str) -> str:
    member = raw.strip()
    if not member or len(member) > 128:
        raise InvalidValue("an agent or team id has 1 to 128 characters", field=field)
    # A tab or another control character would make two ids that look alike (and one an
    # escalation could never name): refused wherever an agent or team id is given.
    if any(unicodedata.category(ch) == "Cc" for ch in member):
        raise InvalidValue("an agent or team id has no control characters", field=field)
    return member


@dataclass(frozen=True)
class Rating:
    score: int
    comment: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.score, bool) or not isinstance(self.score, int) or not 1 <= self.score <= 5:
            raise InvalidValue("a rating score is a whole number from 1 to 5", field="score")
        if self.comment is not None and len(self.comment) > 2000:
            raise InvalidValue("a rating comment has at most 2000 characters", field="comment")
