"""Aggregates as response bodies."""
from __future__ import annotations

from typing import Any

from ledgerdesk.domain.conversation import Conversation
from ledgerdesk.domain.customer import Customer
from ledgerdesk.domain.ticket import Ticket


def ticket_view(t: Ticket) -> dict[str, Any]:
    return {
        "id": t.id,
        "version": t.version,
        "status": t.status,
        "priority": t.priority,
        "category": t.category,
        "language": t.language,
        "subject": t.subject,
        "channel": t.channel,
        "customer_id": t.customer_id,
        "assignee_id": t.assignee_id,
        "team_id": t.team_id,
        "tags": t.tags,
        "order_ids": t.order_ids,
        "conversation_ids": t.conversation_ids,
        "merged_into": t.merged_into,
        "merged_ticket_ids": t.merged_ticket_ids,
        "rating": t.rating,  # a dataclass: orjson renders it as {score, comment}
        "created_at": t.created_on.isoformat(),
        "updated_at": t.modified_on.isoformat(),
    }


def customer_view(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "version": c.version,
        "display_name": c.display_name,
        "tier": c.tier,
        "identities": [i.as_dict() for i in c.identities],
        "merged_into": c.merged_into,
        "merged_customer_ids": c.merged_customer_ids,
        "created_at": c.created_on.isoformat(),
    }


def conversation_view(c: Conversation) -> dict[str, Any]:
    return {
        "id": c.id,
        "version": c.version,
        "channel": c.channel,
        "external_thread_id": c.external_thread_id,
        "customer_id": c.customer_id,
        "ticket_id": c.ticket_id,
        "inbound_count": c.inbound_count,
        "outbound_count": c.outbound_count,
        "closed": c.closed,
        "created_at": c.created_on.isoformat(),
    }
