"""A customer's timeline across channels, and finding a customer by email, phone or channel user.

Both read the timeline read model only. Register this router before `routes_customers`:
`/v1/customers/{customer_id}` there would otherwise take `/v1/customers/lookup` and refuse
"lookup" as a UUID.
"""
from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from ledgerdesk.application.errors import NotFound
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.domain.identity import IdentityKind
from ledgerdesk.projections.timeline import queries as q
from ledgerdesk.projections.store import ReadStore

from .inputs import Digits
from .deps import ReaderDep, RuntimeDep, read_model
from .problems import problem_responses
from .responses import PlainJSON

router = APIRouter(prefix="/v1", tags=["customers"])


class TimelineActor(BaseModel):
    kind: str
    id: str


class TimelineItem(BaseModel):
    """One entry; besides these fields each kind carries its own (e.g. `subject`, `to_status`, `score`)."""

    model_config = ConfigDict(extra="allow")

    position: int
    occurred_at: str
    kind: str
    customer_id: UUID
    channel: Channel | None
    ticket_id: UUID | None
    conversation_id: UUID | None
    message_id: UUID | None
    actor: TimelineActor
    text: str | None


class TimelinePage(BaseModel):
    customer_id: UUID
    merged_customer_ids: list[UUID]
    items: list[TimelineItem]
    next_cursor: str | None


class CustomerFound(BaseModel):
    customer_id: UUID
    display_name: str | None
    tier: str | None
    registered_at: str
    merged_customer_ids: list[UUID]


TimelineStore = Annotated[ReadStore, read_model("timeline")]


@router.get(
    "/customers/lookup",
    response_model=CustomerFound,
    responses=problem_responses(404, 422),
    summary="The customer with this email, phone or channel user id",
    description="Give exactly one identity: `email`, `phone` (national numbers in the default region), or "
    "`channel` with `external_user_id`. Values are normalised as at intake. Answers the surviving customer "
    "when the owner was merged. Reads the timeline read model, which follows the log within moments.",
)
def lookup_customer(
    caller: ReaderDep,
    runtime: RuntimeDep,
    store: TimelineStore,
    email: Annotated[str | None, Query(max_length=320)] = None,
    phone: Annotated[str | None, Query(max_length=64)] = None,
    channel: Channel | None = None,
    external_user_id: Annotated[str | None, Query(max_length=256)] = None,
) -> PlainJSON:
    given: list[tuple[str, IdentityKind, str]] = []
    if email is not None:
        given.append(("email", IdentityKind.EMAIL, email))
    if phone is not None:
        given.append(("phone", IdentityKind.PHONE, phone))
    if channel is not None or external_user_id is not None:
        if channel is None:
            raise InvalidValue("an external_user_id is looked up with its channel", field="channel")
        if external_user_id is None:
            raise InvalidValue("a channel is looked up with an external_user_id", field="external_user_id")
        given.append(("channel", IdentityKind.CHANNEL_USER, external_user_id))
    if not given:
        raise InvalidValue("give one identity: email, phone, or channel with external_user_id", field="email")
    if len(given) > 1:
        raise InvalidValue(
            f"give exactly one identity, not {' and '.join(name for name, _, _ in given)}", field=given[1][0]
        )
    _, kind, value = given[0]
    found = q.find_customer(
        store, caller.tenant, kind, value, channel,
        default_phone_region=runtime.default_phone_region,
    )
    if found is None:
        raise NotFound("no customer with this identity", field=given[0][0])
    return PlainJSON(found)


@router.get(
    "/customers/{customer_id}/timeline",
    response_model=TimelinePage,
    responses=problem_responses(404, 422),
    summary="Everything about a customer across channels, oldest first",
    description="Messages in and out, tickets opened, status changes, ratings, order links and merges, in "
    "(occurred_at, position) order; internal notes are not on it. A merged customer's timeline is the "
    "survivor's, which includes everyone merged into it. Pass `next_cursor` back as `cursor` for the next "
    "page; it is null on the last page.",
)
def customer_timeline(
    customer_id: UUID,
    caller: ReaderDep,
    store: TimelineStore,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Digits, Query(ge=1, le=q.MAX_LIMIT)] = q.DEFAULT_LIMIT,
) -> PlainJSON:
    page: dict[str, Any] | None = q.customer_timeline(store, caller.tenant, customer_id, cursor or None, limit)
    if page is None:
        raise NotFound(f"no customer {customer_id}", field="customer_id")
    return PlainJSON(page)
