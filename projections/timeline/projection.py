"""The customer timeline: everything about one customer across all channels, in time order.

Entries are append-only, one per event at most, keyed by the event's log position: messages
in and out (never internal notes), tickets opened, status changes, ratings, order links and
merges. Each entry belongs to the customer the event concerned when it happened, found through
small lookup tables kept here (ticket -> customer, conversation -> customer, channel, ticket):
nothing is read from aggregates or from other read models.

Customer merges rewrite nothing: `timeline_customers` records who was merged into whom, and a
query gathers the entries of the survivor and of everyone merged into it (see
`timeline_queries`). `customer_identities` answers "who is this email / phone / channel user".

Every row depends on the events alone (times are the events' own), so a rebuild writes the
same rows as following the log did.
"""
from __future__ import annotations

from typing import Any

import orjson

from ..event_record import EventRecord
from ..instants import utc
from ..read_model import Batch, ReadModel
from ..text import excerpt
from .tables import (
    NO_CHANNEL,
    customer_identities,
    timeline_conversations,
    timeline_customers,
    timeline_entries,
    timeline_tickets,
)

EXCERPT_LENGTH = 280


def _identity_key(tenant: str, identity: dict[str, Any]) -> dict[str, Any]:
    return {
        "tenant": tenant,
        "kind": identity["kind"],
        "channel": identity.get("channel") or NO_CHANNEL,
        "value": identity["value"],
    }


class CustomerTimeline(ReadModel):
    name = "timeline"
    tables = (timeline_entries, timeline_customers, customer_identities, timeline_tickets, timeline_conversations)
    event_types = frozenset(
        {
            "Customer.Registered",
            "Customer.IdentityAdded",
            "Customer.ProfileUpdated",
            "Customer.CustomersMerged",
            "Customer.MergedInto",
            "IdentityClaim.Claimed",
            "Conversation.Started",
            "Conversation.LinkedToTicket",
            "Ticket.Opened",
            "Ticket.CustomerMessageAdded",
            "Ticket.ReplySent",
            "Ticket.StatusChanged",
            "Ticket.Rated",
            "Ticket.OrderLinked",
            "Ticket.MergedInto",
            "Ticket.TicketMergedIn",
        }
    )

    def prefetch(self, batch: Batch, events: list[EventRecord]) -> None:
        tickets = {e.aggregate_id for e in events if e.type.startswith("Ticket.") and e.type != "Ticket.Opened"}
        tickets |= {e.data["target_ticket_id"] for e in events if e.type == "Ticket.MergedInto"}
        batch.table(timeline_tickets).prefetch({"ticket_id": t} for t in tickets)
        conversations = {e.data.get("conversation_id") for e in events if e.type.startswith("Ticket.")}
        conversations |= {e.aggregate_id for e in events if e.type == "Conversation.LinkedToTicket"}
        conversations.discard(None)
        batch.table(timeline_conversations).prefetch({"conversation_id": c} for c in conversations)
        # Identities a customer adds are looked up before they are written (the first owner keeps one).
        identities = [_identity_key(e.tenant, i) for e in events if e.type == "Customer.Registered" for i in e.data.get("identities") or []]
        identities += [_identity_key(e.tenant, e.data["identity"]) for e in events if e.type == "Customer.IdentityAdded"]
        batch.table(customer_identities).prefetch(identities)

    def apply(self, batch: Batch, event: EventRecord) -> None:
        handler = getattr(self, "_" + event.type.replace(".", "_"), None)
        if handler is not None:
            handler(batch, event, event.data)

    # -- entries ------------------------------------------------------------------------------

    @staticmethod
    def _entry(
        batch: Batch,
        event: EventRecord,
        customer_id: str,
        kind: str,
        *,
        channel: str | None = None,
        ticket_id: str | None = None,
        conversation_id: str | None = None,
        message_id: str | None = None,
        text: str | None = None,
        **detail: Any,
    ) -> None:
        batch.table(timeline_entries).append(
            {
                "position": event.position,
                "customer_id": customer_id,
                "occurred_at": utc(event.occurred_at),
                "kind": kind,
                "channel": channel,
                "ticket_id": ticket_id,
                "conversation_id": conversation_id,
                "message_id": message_id,
                "actor_kind": event.actor_kind,
                "actor_id": event.actor_id,
                "text": excerpt(text, EXCERPT_LENGTH),
                "detail": orjson.dumps(detail, option=orjson.OPT_SORT_KEYS).decode(),
            }
        )

    @staticmethod
    def _ticket(batch: Batch, ticket_id: str) -> dict | None:
        return batch.table(timeline_tickets).get(ticket_id=ticket_id)

    @staticmethod
    def _conversation(batch: Batch, conversation_id: str | None) -> dict | None:
        if conversation_id is None:
            return None
        return batch.table(timeline_conversations).get(conversation_id=conversation_id)

    # -- customers and identities ---------------------------------------------------------------

    def _Customer_Registered(self, batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        batch.table(timeline_customers).put(
            {
                "customer_id": event.aggregate_id,
                "tenant": event.tenant,
                "merged_into": None,
                "display_name": data.get("display_name"),
                "tier": data.get("tier"),
                "registered_at": utc(event.occurred_at),
            }
        )
        for identity in data.get("identities") or []:
            self._identify(batch, event.tenant, identity, event.aggregate_id, overwrite=False)

    def _Customer_IdentityAdded(self, batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        self._identify(batch, event.tenant, data["identity"], event.aggregate_id, overwrite=False)

    def _IdentityClaim_Claimed(self, batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        # The claim is the store-enforced "one identity, one customer per tenant": it decides.
        self._identify(batch, event.tenant, data["identity"], data["customer_id"], overwrite=True)

    @staticmethod
    def _identify(batch: Batch, tenant: str, identity: dict[str, Any], customer_id: str, *, overwrite: bool) -> None:
        table = batch.table(customer_identities)
        key = _identity_key(tenant, identity)
        if overwrite or table.get(**key) is None:
            table.put({**key, "customer_id": customer_id})

    def _Customer_ProfileUpdated(self, batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        table = batch.table(timeline_customers)
        row = table.get(customer_id=event.aggregate_id)
        if row is None:
            return
        if data.get("display_name") is not None:
            row["display_name"] = data["display_name"]
        if data.get("tier") is not None:
            row["tier"] = data["tier"]
        table.put(row)

    def _Customer_MergedInto(self, batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        table = batch.table(timeline_customers)
        row = table.get(customer_id=event.aggregate_id)
        if row is None:
            return
        row["merged_into"] = data["survivor_id"]
        table.put(row)

    def _Customer_CustomersMerged(self, batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        # One entry for the fact, on the survivor; the other side's MergedInto only links them.
        self._entry(
            batch, event, event.aggregate_id, "customer_merged",
            survivor_id=event.aggregate_id, merged_customer_id=data["merged_customer_id"],
        )

    # -- conversations ---------------------------------------------------------------------------

    def _Conversation_Started(self, batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        batch.table(timeline_conversations).put(
            {"conversation_id": event.aggregate_id, "customer_id": data["customer_id"], "channel": data["channel"], "ticket_id": None}
        )

    def _Conversation_LinkedToTicket(self, batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        table = batch.table(timeline_conversations)
        row = table.get(conversation_id=event.aggregate_id)
        if row is None:
            return
        row["ticket_id"] = data["ticket_id"]
        table.put(row)

    # -- tickets ---------------------------------------------------------------------------------

    def _Ticket_Opened(self, batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        batch.table(timeline_tickets).put(
            {"ticket_id": event.aggregate_id, "customer_id": data["customer_id"], "channel": data["channel"]}
        )
        self._entry(
            batch, event, data["customer_id"], "ticket_opened",
            channel=data["channel"], ticket_id=event.aggregate_id,
            subject=data["subject"], priority=data["priority"], category=data.get("category"),
        )

    def _Ticket_CustomerMessageAdded(self, batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        # The ticket's copy of an inbound message names its ticket, which the conversation's may
        # not know yet; the message is the sender's, whom the conversation knows.
        conversation = self._conversation(batch, data["conversation_id"])
        ticket = self._ticket(batch, event.aggregate_id)
        customer_id = conversation["customer_id"] if conversation else ticket["customer_id"] if ticket else None
        if customer_id is None:
            return
        self._entry(
            batch, event, customer_id, "message_in",
            channel=data["channel"], ticket_id=event.aggregate_id, conversation_id=data["conversation_id"],
            message_id=data["message_id"], text=data["text"], sent_at=data.get("sent_at"),
        )

    def _Ticket_ReplySent(self, batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        # Every public reply has this event, with or without a conversation to send it on.
        conversation = self._conversation(batch, data.get("conversation_id"))
        ticket = self._ticket(batch, event.aggregate_id)
        source = conversation or ticket
        if source is None:
            return
        self._entry(
            batch, event, source["customer_id"], "message_out",
            channel=source["channel"], ticket_id=event.aggregate_id, conversation_id=data.get("conversation_id"),
            message_id=data["message_id"], text=data["text"],
        )

    def _ticket_entry(self, batch: Batch, event: EventRecord, kind: str, text: str | None = None, **detail: Any) -> None:
        ticket = self._ticket(batch, event.aggregate_id)
        if ticket is None:
            return
        self._entry(
            batch, event, ticket["customer_id"], kind, channel=ticket["channel"], ticket_id=event.aggregate_id, text=text, **detail
        )

    def _Ticket_StatusChanged(self, batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        self._ticket_entry(batch, event, "status_changed", from_status=data["from_status"], to_status=data["to_status"])

    def _Ticket_Rated(self, batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        self._ticket_entry(batch, event, "rated", text=data.get("comment"), score=data["score"])

    def _Ticket_OrderLinked(self, batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        self._ticket_entry(batch, event, "order_linked", order_id=data["order_id"])

    def _Ticket_MergedInto(self, batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        self._ticket_entry(
            batch, event, "ticket_merged", source_ticket_id=event.aggregate_id, target_ticket_id=data["target_ticket_id"]
        )

    def _Ticket_TicketMergedIn(self, batch: Batch, event: EventRecord, data: dict[str, Any]) -> None:
        # The source's MergedInto already told its customer; tell the target's only if another.
        target = self._ticket(batch, event.aggregate_id)
        source = self._ticket(batch, data["source_ticket_id"])
        if target is None or (source is not None and source["customer_id"] == target["customer_id"]):
            return
        self._ticket_entry(
            batch, event, "ticket_merged", source_ticket_id=data["source_ticket_id"], target_ticket_id=event.aggregate_id
        )
