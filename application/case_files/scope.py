"""Which streams a case reaches, as of its moment.

- an order: every ticket that linked it by then (`Ticket.OrderLinked`, or took it over in a merge);
- a ticket: itself;
- a customer: every ticket and conversation of the customer and of everyone merged into it, and
  the customers' own streams;
and in each case the tickets merged into or out of those (by then), and every conversation of
every ticket reached. Candidates come from a read model (`CaseIndex`: an index by order, a
customer's family), which may be a moment behind the log; membership is then decided on the
streams themselves, read up to the moment, and never another tenant's.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent

from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.domain.ticket_values import checked_order_id

from ..errors import NotFound
from ..event_views import event_type, flatten

# A case larger than this is refused (narrow it: a ticket instead of the customer).
MAX_CASE_STREAMS = 2_000
MAX_CASE_EVENTS = 100_000


class ScopeKind(StrEnum):
    ORDER = "order"
    CUSTOMER = "customer"
    TICKET = "ticket"


@dataclass(frozen=True)
class CaseScope:
    kind: ScopeKind
    value: str  # the order id as the shop writes it, or the customer's or ticket's id

    @property
    def field(self) -> str:
        return f"{self.kind}_id"


class CaseIndex(Protocol):
    """The read-model lookups that find a case's candidates quickly."""

    def tickets_linking_order(self, tenant: str, order_id: str) -> list[UUID]: ...

    def customer_family(self, tenant: str, customer_id: UUID) -> list[UUID] | None:
        """The surviving customer first, then everyone merged into it; None: no such customer of the tenant."""

    def customer_streams(self, tenant: str, customer_ids: Sequence[UUID]) -> tuple[list[UUID], list[UUID]]:
        """The tickets and conversations of these customers."""


@dataclass
class Stream:
    stream_id: UUID
    kind: str  # "ticket" | "conversation" | "customer"
    stored: list[StoredEvent]  # up to the moment, in version order
    states: list[dict[str, Any]]  # each stored event's state, decoded


@dataclass
class ResolvedScope:
    scope: CaseScope
    streams: dict[UUID, Stream] = field(default_factory=dict)
    customer_ids: list[str] = field(default_factory=list)

    def ids(self, kind: str) -> list[str]:
        return sorted(str(s.stream_id) for s in self.streams.values() if s.kind == kind)


class _Reader:
    def __init__(self, ledger: Any, tenant: str, moment: datetime, scope: CaseScope) -> None:
        self.ledger, self.tenant, self.moment, self.scope = ledger, tenant, moment, scope
        self.events = 0

    def read(self, stream_id: UUID, kind: str) -> Stream | None:
        """The tenant's stream of that kind up to the moment; None if it is not theirs, or began later."""
        stored = list(self.ledger.recorder.select_events(stream_id))
        if not stored or not event_type(stored[0].topic).lower().startswith(kind + "."):
            return None
        kept, states = [], []
        for event in stored:
            state = flatten(orjson.loads(event.state))
            if state["meta"]["tenant"] != self.tenant:
                return None
            if datetime.fromisoformat(state["timestamp"]) > self.moment:
                break  # a stream's events are in time order: the rest came later
            kept.append(event)
            states.append(state)
        if not kept:
            return None
        self.events += len(kept)
        if self.events > MAX_CASE_EVENTS:
            raise InvalidValue(f"the case holds more than {MAX_CASE_EVENTS:,} events: ask for a narrower one (a ticket)",
                               field=self.scope.field)
        return Stream(stream_id, kind, kept, states)


def _links(stream: Stream) -> tuple[set[UUID], set[UUID]]:
    """The tickets merged into or out of a ticket, and its conversations, as its events say."""
    merges, conversations = set(), set()
    for event, state in zip(stream.stored, stream.states):
        kind = event_type(event.topic)
        if kind == "Ticket.MergedInto":
            merges.add(UUID(state["target_ticket_id"]))
        elif kind == "Ticket.TicketMergedIn":
            merges.add(UUID(state["source_ticket_id"]))
            conversations.update(UUID(c) for c in state.get("conversation_ids") or [])
        elif kind == "Ticket.ConversationLinked" or state.get("conversation_id"):
            conversations.add(UUID(state["conversation_id"]))
    return merges, conversations


def _links_order(stream: Stream, order_id: str) -> bool:
    for event, state in zip(stream.stored, stream.states):
        kind = event_type(event.topic)
        if (kind == "Ticket.OrderLinked" and state.get("order_id") == order_id) or (
                kind == "Ticket.TicketMergedIn" and order_id in (state.get("order_ids") or [])):
            return True
    return False


def resolve_scope(ledger: Any, index: CaseIndex, tenant: str, scope: CaseScope, moment: datetime) -> ResolvedScope:
    """The case's streams up to `moment`. NotFound naming the scope's field when the tenant has no
    such order (no ticket ever linked it), ticket or customer."""
    reader = _Reader(ledger, tenant, moment, scope)
    resolved = ResolvedScope(scope)
    tickets: list[UUID] = []
    conversations: set[UUID] = set()
    order_candidates: set[UUID] = set()
    if scope.kind is ScopeKind.ORDER:
        order_candidates = set(index.tickets_linking_order(tenant, scope.value))
        if not order_candidates:
            raise NotFound(f"no ticket links order {scope.value!r}", field=scope.field)
        tickets = sorted(order_candidates)
    elif scope.kind is ScopeKind.TICKET:
        ticket_id = UUID(scope.value)
        if reader.read(ticket_id, "ticket") is None and not _is_tenants(ledger, tenant, ticket_id, "ticket"):
            raise NotFound(f"no ticket {ticket_id}", field=scope.field)
        tickets = [ticket_id]
    else:
        family = index.customer_family(tenant, UUID(scope.value))
        if family is None:
            raise NotFound(f"no customer {scope.value}", field=scope.field)
        for customer_id in family:
            stream = reader.read(customer_id, "customer")
            if stream is not None:
                resolved.streams[customer_id] = stream
        found_tickets, found_conversations = index.customer_streams(tenant, family)
        tickets, conversations = sorted(found_tickets), set(found_conversations)
        resolved.customer_ids = [str(c) for c in family]

    pending, seen = list(tickets), set(tickets)
    while pending:
        if len(resolved.streams) > MAX_CASE_STREAMS:
            raise InvalidValue(f"the case reaches more than {MAX_CASE_STREAMS:,} streams: ask for a narrower one",
                               field=scope.field)
        ticket_id = pending.pop(0)
        stream = reader.read(ticket_id, "ticket")
        if stream is None or (ticket_id in order_candidates and not _links_order(stream, scope.value)):
            continue  # not the tenant's, not yet opened, or it linked the order only later
        resolved.streams[ticket_id] = stream
        merges, its_conversations = _links(stream)
        conversations |= its_conversations
        for other in sorted(merges - seen):
            seen.add(other)
            pending.append(other)
        customer = str(stream.states[0].get("customer_id"))
        if customer not in resolved.customer_ids:
            resolved.customer_ids.append(customer)
    for conversation_id in sorted(conversations):
        stream = reader.read(conversation_id, "conversation")
        if stream is not None:
            resolved.streams[conversation_id] = stream
    return resolved


def _is_tenants(ledger: Any, tenant: str, stream_id: UUID, kind: str) -> bool:
    """Whether the stream is the tenant's, of that kind, at any time (a ticket opened after the moment)."""
    first = ledger.recorder.select_events(stream_id, limit=1)
    if not first or not event_type(first[0].topic).lower().startswith(kind + "."):
        return False
    return flatten(orjson.loads(first[0].state))["meta"]["tenant"] == tenant


def scope_from(order_id: str | None = None, customer_id: UUID | None = None, ticket_id: UUID | None = None) -> CaseScope:
    """Exactly one of them, checked; InvalidValue naming the field otherwise."""
    given = [(name, value) for name, value in (("order_id", order_id), ("customer_id", customer_id), ("ticket_id", ticket_id))
             if value is not None]
    if not given:
        raise InvalidValue("give one of order_id, customer_id or ticket_id", field="order_id")
    if len(given) > 1:
        raise InvalidValue(f"give exactly one of order_id, customer_id or ticket_id, not {' and '.join(n for n, _ in given)}",
                           field=given[1][0])
    name, value = given[0]
    if name == "order_id":
        return CaseScope(ScopeKind.ORDER, checked_order_id(str(value)))
    return CaseScope(ScopeKind.CUSTOMER if name == "customer_id" else ScopeKind.TICKET, str(UUID(str(value))))
