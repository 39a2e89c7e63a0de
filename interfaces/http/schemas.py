"""Request and response bodies of the HTTP API; separate from the domain objects they carry."""
from __future__ import annotations

from typing import Annotated, Any, get_args
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
)

from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.domain.message import MAX_ATTACHMENTS
from ledgerdesk.domain.ticket_values import Category, Priority, TicketStatus

from .inputs import MAX_VERSION, checked_instant, control_character_in

Text = Annotated[str, Field(min_length=1, max_length=64_000)]
ExternalId = Annotated[str, Field(min_length=1, max_length=512)]
Reason = Annotated[str | None, Field(default=None, max_length=1000, description="why, for the audit trail")]
# A whole number in JSON: `true`, `"1"` and `1.0` are not one (pydantic would take them as 1).
Whole = Annotated[int, Strict()]
# A team named by a field (an escalation's target): 1 to 128 characters, no control character.
TeamRef = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")]
ExpectedVersion = Annotated[
    Whole | None, Field(default=None, ge=1, le=MAX_VERSION, description="the ticket version you saw; a stale one is a 409")
]


def _instant_text(value: Any) -> Any:
    if not isinstance(value, str):  # a number would be taken as Unix time, which no channel means
        raise ValueError("an ISO 8601 instant with an offset, such as 2026-11-11T09:00:00+08:00")
    return value


def _instant_in_range(value: Any) -> Any:
    try:
        return checked_instant(value, "sent_at")
    except InvalidValue as refused:
        raise ValueError(refused.message) from None


SentAt = Annotated[AwareDatetime, BeforeValidator(_instant_text), AfterValidator(_instant_in_range)]


def _holds_a_body(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, Body):
        return True
    return any(_holds_a_body(arg) for arg in get_args(annotation))


class Body(BaseModel):
    """A request body: unknown fields refused, and no control characters in any text of it."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name is not None and _holds_a_body(cls.model_fields[info.field_name].annotation):
            return value  # a nested body checks its own fields, and names them
        found = control_character_in(value)
        if found is not None:
            raise ValueError(f"control characters (other than tab, CR and LF) and lone surrogates are not allowed: {found}")
        return value


class CustomerIn(Body):
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    tier: str | None = Field(default=None, max_length=32)


class AttachmentIn(Body):
    name: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=3, max_length=255)
    size: Whole = Field(ge=0, le=2**53, description="bytes")


class InboundMessageIn(Body):
    channel: Channel
    external_thread_id: ExternalId
    external_user_id: Annotated[str, Field(min_length=1, max_length=256)]
    external_message_id: ExternalId
    text: Annotated[str, Field(max_length=64_000)]
    sent_at: SentAt = Field(description="when the customer sent it: an instant with an offset, from 1970 to 2100")
    customer: CustomerIn | None = None
    order_id: str | None = Field(default=None, min_length=1, max_length=128)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    subject: str | None = Field(default=None, max_length=300)
    reason: Reason = None


class IntakeAnswer(BaseModel):
    customer_id: UUID
    conversation_id: UUID
    ticket_id: UUID
    message_id: UUID
    duplicate: bool
    position: int | None = None


class OpenTicketIn(Body):
    subject: Annotated[str, Field(min_length=1, max_length=300)]
    customer_id: UUID | None = None
    customer: CustomerIn | None = None
    channel: Channel = Channel.OTHER
    priority: Priority = Priority.NORMAL
    category: Category | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    order_id: str | None = Field(default=None, min_length=1, max_length=128)
    reason: Reason = None


class TicketCommandIn(Body):
    expected_version: ExpectedVersion = None
    reason: Reason = None


class TextIn(TicketCommandIn):
    text: Text


class AssignmentIn(TicketCommandIn):
    agent_id: str | None = Field(default=None, min_length=1, max_length=128)
    team_id: str | None = Field(default=None, min_length=1, max_length=128)


class StatusIn(TicketCommandIn):
    status: TicketStatus


class PriorityIn(TicketCommandIn):
    priority: Priority


class CategoryIn(TicketCommandIn):
    category: Category


class TagsIn(TicketCommandIn):
    add: list[str] = Field(default_factory=list, max_length=50)
    remove: list[str] = Field(default_factory=list, max_length=50)


class OrderIn(TicketCommandIn):
    order_id: Annotated[str, Field(min_length=1, max_length=128)]


class MergeIn(TicketCommandIn):
    into_ticket_id: UUID


class RatingIn(TicketCommandIn):
    score: Whole = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class CommandAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")
    ticket_id: UUID
    version: int
    position: int | None = None


class ConversationCommandAnswer(BaseModel):
    conversation_id: UUID
    version: int
    closed: bool
    position: int | None = None


class ActorOut(BaseModel):
    kind: str
    id: str


class EventOut(BaseModel):
    id: UUID
    type: str
    aggregate_id: UUID
    version: int
    occurred_at: str
    tenant: str
    actor: ActorOut
    command_id: str
    correlation_id: str
    causation_id: str | None
    reason: str | None
    # An automatic step's inputs (actor kind `policy`): what it weighed to decide; null otherwise.
    decision: dict | None = None
    data: dict


class FeedEventOut(EventOut):
    position: int


class HistoryPage(BaseModel):
    items: list[EventOut]
    next_after_version: int | None


class FeedPage(BaseModel):
    items: list[FeedEventOut]
    next_after: int
    head: int


class RatingOut(BaseModel):
    score: int
    comment: str | None


class TicketOut(BaseModel):
    id: UUID
    version: int
    status: TicketStatus
    priority: Priority
    category: Category | None
    language: str | None = Field(description="ISO 639-1, detected from the customer's first message; null when unsure")
    subject: str
    channel: Channel
    customer_id: UUID
    assignee_id: str | None
    team_id: str | None
    tags: list[str]
    order_ids: list[str]
    conversation_ids: list[UUID]
    merged_into: UUID | None
    merged_ticket_ids: list[UUID]
    rating: RatingOut | None
    created_at: str
    updated_at: str
    as_of: str | None = Field(default=None, description="only in an as-of read (`?as_of=`): the instant asked for; "
                              "`version` is then the version the aggregate had at it")


class IdentityOut(BaseModel):
    kind: str
    value: str
    channel: str | None


class CustomerOut(BaseModel):
    id: UUID
    version: int
    display_name: str | None
    tier: str | None
    identities: list[IdentityOut]
    merged_into: UUID | None
    merged_customer_ids: list[UUID]
    created_at: str
    as_of: str | None = Field(default=None, description="only in an as-of read (`?as_of=`): the instant asked for; "
                              "`version` is then the version the aggregate had at it")


class ConversationOut(BaseModel):
    id: UUID
    version: int
    channel: Channel
    external_thread_id: str
    customer_id: UUID
    ticket_id: UUID | None
    inbound_count: int
    outbound_count: int
    closed: bool
    created_at: str
    as_of: str | None = Field(default=None, description="only in an as-of read (`?as_of=`): the instant asked for; "
                              "`version` is then the version the aggregate had at it")
