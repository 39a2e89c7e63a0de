"""The triage policy: each customer message on a ticket is read against its tenant's triage rules
(domain/triage.py; the tenant's own, or the defaults while it has none), and the ticket gets the
category and priority they ask for.

Inputs are taken as they stood at the message, not as they are when the policy runs: the rule
set stored before the message (a revision applies to later messages only, however late the
policy runs), the language and priority the ticket was opened with (triage raises from the
opened priority, so a VIP's every message does not climb another step), the ticket's priority
and category just before the message, and whether the customer wrote about the ticket's order
earlier within a day. The customer's tier is read as it is now.

The command's reason names the rule set's version and every rule that matched; its decision
inputs (stored in the events it causes) hold what the decision saw, so the ticket's history
answers "why" without another lookup.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from ledgerdesk.domain.customer import Customer
from ledgerdesk.domain.ticket_values import Priority
from ledgerdesk.domain.triage import triage
from ledgerdesk.domain.triage_rules import TriageRuleSet, default_rule_set

from . import commands as c
from .event_views import describe
from .log_positions import position_of
from .policy import Trigger, policy_context
from .triage_rules_handlers import rules_in_force

REPEAT_CONTACT_WINDOW = timedelta(days=1)
DEFAULT_RULE_SET = default_rule_set()


class TriagePolicy:
    name = "triage"
    event_types = frozenset({"Ticket.CustomerMessageAdded"})
    own_event_types: frozenset[str] = frozenset()

    def __init__(self, compiled_rule_sets: int = 256) -> None:
        # Rule sets made into matchers, by (tenant, version): a version never changes once stored.
        self._compiled: OrderedDict[tuple[str, int], TriageRuleSet] = OrderedDict()
        self._max_compiled = compiled_rule_sets
        self._lock = threading.Lock()

    def rule_set(self, ledger: Any, tenant: str, before_position: int | None) -> TriageRuleSet:
        found = rules_in_force(ledger, tenant, before_position)
        if found is None:
            return DEFAULT_RULE_SET
        key = (tenant, found.version)
        with self._lock:
            compiled = self._compiled.get(key)
            if compiled is not None:
                self._compiled.move_to_end(key)
                return compiled
        compiled = found.rule_set()
        with self._lock:
            self._compiled[key] = compiled
            if len(self._compiled) > self._max_compiled:
                self._compiled.popitem(last=False)
        return compiled

    def commands_for(self, trigger: Trigger, ledger: Any) -> list[Any]:
        ticket_id = UUID(trigger.aggregate_id)
        story = [describe(e) for e in ledger.recorder.select_events(ticket_id, lte=trigger.version)]
        opened = story[0]["data"]
        opened_priority = Priority(opened["priority"])
        customer = ledger.aggregate(trigger.tenant, Customer, UUID(opened["customer_id"]), field="customer_id")
        rule_set = self.rule_set(ledger, trigger.tenant, position_of(ledger.recorder, ticket_id, trigger.version))
        decision = triage(
            trigger.data["text"], opened.get("language"), customer.tier, _earlier_contacts_about_its_order(story),
            rule_set.rules, priority=opened_priority,
        )
        if decision.category is None and decision.priority is opened_priority:
            return []
        priority_before, category_before = _priority_and_category_before(story)
        inputs = {
            "rule_set": {"version": rule_set.version, "source": rule_set.source},
            **decision.inputs,
            "priority_before": priority_before,
            "category_before": category_before,
        }
        ctx = policy_context(self.name, trigger, reason=_reason(rule_set, decision.reason), decision=inputs)
        return [c.TriageTicket(ctx, ticket_id, category=decision.category, priority=decision.priority)]


def _reason(rule_set: TriageRuleSet, why: str) -> str:
    return f"triage by {rule_set.label}: {why}"


def _priority_and_category_before(story: list[dict[str, Any]]) -> tuple[str, str | None]:
    """The ticket's priority and category as they stood when the message came."""
    priority, category = story[0]["data"]["priority"], story[0]["data"].get("category")
    for event in story[1:]:
        if event["type"] == "Ticket.PriorityChanged":
            priority = event["data"]["to_priority"]
        elif event["type"] == "Ticket.CategoryChanged":
            category = event["data"]["category"]
    return priority, category


def _earlier_contacts_about_its_order(story: list[dict[str, Any]]) -> int:
    """The customer's earlier messages on this ticket within a day of the last one, if the ticket
    was about an order by then."""
    if not any(e["type"] == "Ticket.OrderLinked" for e in story):
        return 0
    sent = [datetime.fromisoformat(e["data"]["sent_at"]) for e in story if e["type"] == "Ticket.CustomerMessageAdded"]
    return sum(1 for at in sent[:-1] if sent[-1] - at <= REPEAT_CONTACT_WINDOW)
