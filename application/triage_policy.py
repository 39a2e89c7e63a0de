"""The triage policy: each customer message on a ticket is read against the tenant's triage
rules (domain/triage.py), and the ticket gets the category and priority they ask for.

Inputs are taken as they stood at the message, not as they are when the policy runs: the
language and priority the ticket was opened with (triage raises from the opened priority, so a
VIP's every message does not climb another step), and whether the customer wrote about the
ticket's order earlier within a day. The customer's tier is read as it is now.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from ledgerdesk.domain.customer import Customer
from ledgerdesk.domain.ticket_values import Priority
from ledgerdesk.domain.triage import TriageRule, default_rules, triage

from . import commands as c
from .event_views import describe
from .policy import Trigger, policy_context

REPEAT_CONTACT_WINDOW = timedelta(days=1)


class TriagePolicy:
    name = "triage"
    event_types = frozenset({"Ticket.CustomerMessageAdded"})
    own_event_types: frozenset[str] = frozenset()

    def __init__(self, rules: tuple[TriageRule, ...] | None = None) -> None:
        # Per-tenant rules managed over HTTP come later; every tenant gets the defaults now.
        self.rules = rules if rules is not None else default_rules()

    def commands_for(self, trigger: Trigger, ledger: Any) -> list[Any]:
        ticket_id = UUID(trigger.aggregate_id)
        story = [describe(e) for e in ledger.recorder.select_events(ticket_id, lte=trigger.version)]
        opened = story[0]["data"]
        opened_priority = Priority(opened["priority"])
        customer = ledger.aggregate(trigger.tenant, Customer, UUID(opened["customer_id"]), field="customer_id")
        decision = triage(
            trigger.data["text"], opened.get("language"), customer.tier, _earlier_contacts_about_its_order(story),
            self.rules, priority=opened_priority,
        )
        if decision.category is None and decision.priority is opened_priority:
            return []
        ctx = policy_context(self.name, trigger, reason=f"triage: {decision.reason}")
        return [c.TriageTicket(ctx, ticket_id, category=decision.category, priority=decision.priority)]


def _earlier_contacts_about_its_order(story: list[dict[str, Any]]) -> int:
    """The customer's earlier messages on this ticket within a day of the last one, if the ticket
    was about an order by then."""
    if not any(e["type"] == "Ticket.OrderLinked" for e in story):
        return 0
    sent = [datetime.fromisoformat(e["data"]["sent_at"]) for e in story if e["type"] == "Ticket.CustomerMessageAdded"]
    return sum(1 for at in sent[:-1] if sent[-1] - at <= REPEAT_CONTACT_WINDOW)
