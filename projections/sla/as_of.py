"""A ticket's SLA clocks as they stood at a past instant, replayed from the log.

The ticket's own events up to the instant are fed through the same mapping the inbox read model
uses (measure.py); at its opening and at each priority or category change, its policy is chosen
among the tenant's SLA policies as they stood at that event's time (each policy's events replayed
up to it: old shapes upcast as in any load) and the customer's tier then (merges followed as they
stood). The clocks are judged at the instant asked for.

Which policies a tenant has is read from the SLA read model (its ids only: never deleted, only
retired); their terms come from the log. Event times and log order agree except between commands
racing within milliseconds: a policy defined in the same instant as a ticket event may count here
and not in the read model, or the reverse.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import takewhile
from typing import Any
from uuid import UUID

from eventsourcing.application import project_aggregate

from ledgerdesk.application.as_of import Moment
from ledgerdesk.application.errors import NotFound
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.domain.customer import Customer, follow_merges
from ledgerdesk.domain.sla_policy import DEFAULT_POLICY, SlaPolicy, SlaPolicySnapshot
from ledgerdesk.domain.ticket import Ticket

from ..event_record import EventRecord
from ..instants import utc
from .clocks import policy_terms
from .measure import RESELECTING, choose_policy, drive_clocks, drives_clocks, measured_under, reselect, start_clocks


class PoliciesInForce:
    """A tenant's SLA policies at any instant: each policy's events read once, replayed up to it."""

    def __init__(self, ledger: Ledger, policy_ids: Sequence[str]) -> None:
        self._events = [list(ledger.repository.event_store.get(UUID(pid))) for pid in policy_ids]

    def at(self, moment: datetime) -> list[SlaPolicySnapshot]:
        found = []
        for events in self._events:
            policy = project_aggregate(None, takewhile(lambda e: e.timestamp <= moment, events))
            if isinstance(policy, SlaPolicy):
                found.append(policy.snapshot())
        return found


def _tier_at(ledger: Ledger, tenant: str, customer_id: str, moment: datetime) -> str | None:
    """The customer's tier at `moment`, or its survivor's when it had been merged into another by then."""

    def as_of(cid: UUID) -> Customer | None:
        try:
            return ledger.aggregate_as_of(tenant, Customer, cid, Moment(at=moment))
        except NotFound:
            return None

    def merged_into(cid: UUID) -> UUID | None:
        found = as_of(cid)
        survivor = found.merged_into if found is not None else None
        return survivor if survivor is not None and as_of(survivor) is not None else None

    found = as_of(follow_merges(UUID(customer_id), merged_into))
    return found.tier if found is not None else None


def ticket_sla_as_of(ledger: Ledger, policy_ids: Sequence[str], tenant: str, ticket_id: UUID, moment: datetime) -> dict[str, Any]:
    """`{"ticket_id", "policy", "clocks", "as_of"}` as GET /v1/tickets/{id}/sla answers, as of `moment`.

    NotFound naming `ticket_id` for no such ticket of the tenant, or one merged away by then (the
    read model drops those too); naming `as_of` when the ticket did not exist yet.
    """
    ledger.aggregate(tenant, Ticket, ticket_id, "ticket_id")
    records = [EventRecord.from_stored(s, 0) for s in ledger.recorder.select_events(ticket_id)]
    records = list(takewhile(lambda r: r.occurred_at <= moment, records))
    if not records:
        raise NotFound(f"ticket {ticket_id} did not exist yet at {moment.isoformat()}", field="as_of")
    policies = PoliciesInForce(ledger, policy_ids)
    opened = records[0].data
    channel, priority = str(opened["channel"]), str(opened["priority"])
    category = str(opened["category"]) if opened.get("category") else None
    customer_id = str(opened["customer_id"])

    def chosen(at: datetime) -> SlaPolicySnapshot | None:
        return choose_policy(policies.at(at), priority, channel, category, lambda: _tier_at(ledger, tenant, customer_id, at))

    first = utc(records[0].occurred_at)
    policy = chosen(first)
    sla, under = start_clocks(policy_terms(policy) if policy else None, first), measured_under(policy)
    for record in records[1:]:
        if record.type == "Ticket.MergedInto":
            raise NotFound(f"ticket {ticket_id} had been merged into ticket {record.data['target_ticket_id']} by then: "
                           "a duplicate's SLA is not measured", field="ticket_id")
        if drives_clocks(record):
            drive_clocks(sla, record)
        elif record.type in RESELECTING:
            if record.type == "Ticket.PriorityChanged":
                priority = str(record.data["to_priority"])
            else:
                category = str(record.data["category"])
            at = utc(record.occurred_at)
            under = reselect(sla, under, chosen(at), lambda p: policy_terms(p) if p else None, at)
    policy_id, version = under
    shown = None
    if policy_id is not None:
        name = DEFAULT_POLICY.name if policy_id == DEFAULT_POLICY.policy_id else next(
            (p.name for p in policies.at(moment) if p.policy_id == policy_id), None)
        shown = {"id": policy_id, "version": version, "name": name}
    return {"ticket_id": str(ticket_id), "policy": shown, "clocks": sla.views(moment), **Moment(at=moment).echo()}
