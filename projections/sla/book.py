"""One batch's SLA work for the inbox: policies, customers' tiers and each ticket's clocks.

When a ticket opens, its tenant's first matching active policy (`domain.sla_policy.select_policy`)
sets its terms and `domain.sla.TicketSla` starts its clocks; customer messages, public replies by
people and status changes drive them (the inbox tells the book); a priority or category change
selects the policy again and re-targets the clocks when the choice (policy or its version)
differs. A policy revision alone changes no ticket: a ticket keeps the version it is measured
under until it is re-targeted.

A ticket's TicketSla lives in its staged `sla_tickets` row for the whole batch and becomes JSON
once, when the batch is written; its clock rows are staged once, by `sync_clocks`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ledgerdesk.domain.customer import follow_merges
from ledgerdesk.domain.sla import TicketSla
from ledgerdesk.domain.sla_policy import DEFAULT_ESCALATION, SlaPolicySnapshot

from ..event_record import EventRecord
from ..instants import utc
from ..read_model import Batch
from .clocks import clock_row, policy_snapshot, policy_terms, sla_fields
from .measure import choose_policy, measured_under, reselect, start_clocks
from .tables import sla_clocks, sla_customers, sla_policies, sla_tickets

# The events the book reads itself (the inbox hands it ticket events).
EVENT_TYPES = frozenset(
    {"Customer.Registered", "Customer.ProfileUpdated", "Customer.MergedInto",
     "SlaPolicy.Defined", "SlaPolicy.Revised", "SlaPolicy.Retired"}
)


@dataclass
class TicketWork:
    """A ticket's SLA within one batch: the live TicketSla (also the staged row's `state`)."""

    row: dict[str, Any]  # the sla_tickets row, its `state` being `sla`
    sla: TicketSla
    stored_clocks: set[tuple[str, int]]  # clock keys stored before this batch
    clocks: dict[tuple[str, int], dict[str, Any]]  # each clock's row as last stored or staged


class SlaBook:
    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.tickets: dict[str, TicketWork] = {}
        # Each tenant's policies (latest versions), loaded once per batch, kept up to date by the
        # batch's policy events; policies staged in this batch, by id (for tenants loaded later).
        self._policies: dict[str, dict[str, SlaPolicySnapshot]] = {}
        self._staged_policies: dict[str, dict[str, Any]] = {}
        self._terms: dict[tuple[str, int], Any] = {}

    def prefetch(self, events: list[EventRecord], opened: set[str], tickets: set[str]) -> None:
        """Reads the SLA rows of the batch's tickets and the customers whose tiers it may need."""
        staged = self.batch.table(sla_tickets)
        staged.prefetch({"ticket_id": t} for t in tickets)
        registered = {e.aggregate_id for e in events if e.type == "Customer.Registered"}
        customers = {str(e.data["customer_id"]) for e in events if e.type == "Ticket.Opened"}
        customers |= {e.aggregate_id for e in events if e.type.startswith("Customer.")}
        reselected = {e.aggregate_id for e in events if e.type in ("Ticket.PriorityChanged", "Ticket.CategoryChanged")}
        for ticket_id in reselected - opened:
            row = staged.get(ticket_id=ticket_id)  # prefetched above
            if row is not None:
                customers.add(row["customer_id"])
        self.batch.table(sla_customers).prefetch({"customer_id": c} for c in customers - registered)

    # -- a ticket's SLA -------------------------------------------------------------------------------

    def open(self, ticket_id: str, tenant: str, channel: str, priority: str, category: str | None,
             customer_id: str, at: datetime) -> TicketWork:
        policy = self._select(tenant, priority, channel, category, customer_id)
        sla = start_clocks(self._terms_of(policy), at)
        policy_id, policy_version = measured_under(policy)
        row = {
            "ticket_id": ticket_id,
            "tenant": tenant,
            "channel": channel,
            "priority": priority,
            "category": category,
            "customer_id": customer_id,
            "policy_id": policy_id,
            "policy_version": policy_version,
            "state": sla,
        }
        self.batch.table(sla_tickets).put(row)
        work = self.tickets[ticket_id] = TicketWork(row, sla, set(), {})
        return work

    def of(self, ticket_id: str, inbox_row: dict[str, Any] | None) -> TicketWork:
        """The ticket's SLA for this batch, read from its stored row the first time."""
        work = self.tickets.get(ticket_id)
        if work is None:
            staged = self.batch.table(sla_tickets)
            row = staged.get(ticket_id=ticket_id)
            if row is None:
                # The inbox row and this one come and go together; should one ever be missing,
                # the ticket is not measured (TicketSla ignores facts before `opened`) rather
                # than the projection stopping. A rebuild measures it.
                known = inbox_row or {}
                row = {"ticket_id": ticket_id, "tenant": known.get("tenant", ""), "channel": known.get("channel", ""),
                       "priority": known.get("priority", "normal"), "category": known.get("category"),
                       "customer_id": known.get("customer_id", ""), "policy_id": None, "policy_version": None,
                       "state": TicketSla(None)}
            sla = row["state"] if isinstance(row["state"], TicketSla) else TicketSla.from_dict(row["state"])
            row["state"] = sla
            staged.put(row)
            clocks = {}
            for clock in sla.clocks:
                stored = clock_row(ticket_id, row["tenant"], row["channel"], clock)
                clocks[(stored["metric"], stored["cycle"])] = stored
            work = self.tickets[ticket_id] = TicketWork(row, sla, set(clocks), clocks)
        return work

    def reselect(self, inbox_row: dict[str, Any], at: datetime) -> TicketWork:
        """Priority or category changed: the ticket's policy is chosen again and, if it is another
        policy or another version of it, the clocks take its terms from `at` on."""
        work = self.of(inbox_row["ticket_id"], inbox_row)
        row = work.row
        row["priority"], row["category"] = inbox_row["priority"], inbox_row["category"]
        policy = self._select(row["tenant"], row["priority"], row["channel"], row["category"], row["customer_id"])
        under = (row["policy_id"], row["policy_version"])
        row["policy_id"], row["policy_version"] = reselect(work.sla, under, policy, self._terms_of, at)
        self.batch.table(sla_tickets).put(row)
        return work

    def sync_clocks(self, ticket_id: str) -> dict[str, Any]:
        """Stages the ticket's clock rows that changed; answers the inbox row's SLA columns."""
        work = self.tickets[ticket_id]
        tenant, channel = work.row["tenant"], work.row["channel"]
        staged = self.batch.table(sla_clocks)
        clocks = work.sla.clocks
        current = set()
        for clock in clocks:
            fresh = clock_row(ticket_id, tenant, channel, clock)
            key = (fresh["metric"], fresh["cycle"])
            current.add(key)
            if work.clocks.get(key) != fresh:
                staged.put(fresh)
                work.clocks[key] = fresh
        for key in [k for k in work.clocks if k not in current]:  # a metric no longer measured
            staged.delete(ticket_id=ticket_id, metric=key[0], cycle=key[1])
            del work.clocks[key]
        return sla_fields(work.sla, clocks)

    def drop(self, ticket_id: str, inbox_row: dict[str, Any]) -> None:
        """The ticket was merged away: a duplicate is not a case whose targets were met or missed."""
        work = self.of(ticket_id, inbox_row)
        clocks = self.batch.table(sla_clocks)
        for metric, cycle in work.stored_clocks | set(work.clocks):
            clocks.delete(ticket_id=ticket_id, metric=metric, cycle=cycle)
        self.batch.table(sla_tickets).delete(ticket_id=ticket_id)
        del self.tickets[ticket_id]

    # -- policies and customers, as a ticket's policy is chosen ---------------------------------------

    def _select(self, tenant: str, priority: str, channel: str, category: str | None, customer_id: str) -> SlaPolicySnapshot | None:
        return choose_policy(self._tenant_policies(tenant).values(), priority, channel, category,
                             lambda: self._tier(customer_id))

    def _tenant_policies(self, tenant: str) -> dict[str, SlaPolicySnapshot]:
        """The tenant's policies, read once per batch, with the batch's own policy events applied."""
        policies = self._policies.get(tenant)
        if policies is None:
            p = sla_policies
            rows = self.batch.conn.execute(
                select(p).where(p.c.generation == self.batch.generation, p.c.tenant == tenant)
            ).mappings()
            policies = {row["policy_id"]: policy_snapshot(dict(row)) for row in rows}
            for policy_id, row in self._staged_policies.items():
                if row["tenant"] == tenant:
                    policies[policy_id] = policy_snapshot(row)
            self._policies[tenant] = policies
        return policies

    def _terms_of(self, policy: SlaPolicySnapshot | None) -> Any:
        if policy is None:
            return None
        key = (policy.policy_id, policy.version)
        terms = self._terms.get(key)
        if terms is None:
            terms = self._terms[key] = policy_terms(policy)
        return terms

    def _tier(self, customer_id: str) -> str | None:
        """The customer's tier, or its survivor's when it was merged into another customer."""
        customers = self.batch.table(sla_customers)

        def merged_into(cid: str) -> str | None:
            row = customers.get(customer_id=cid)
            survivor = row["merged_into"] if row is not None else None
            return survivor if survivor is not None and customers.get(customer_id=survivor) is not None else None

        row = customers.get(customer_id=follow_merges(customer_id, merged_into))
        return row["tier"] if row is not None else None

    def customer_event(self, event: EventRecord) -> None:
        customers = self.batch.table(sla_customers)
        data = event.data
        if event.type == "Customer.Registered":
            customers.put({"customer_id": event.aggregate_id, "tenant": event.tenant, "tier": data.get("tier"), "merged_into": None})
            return
        row = customers.get(customer_id=event.aggregate_id)
        if row is None:
            return
        if event.type == "Customer.ProfileUpdated":
            if data.get("tier") is None:  # None: the tier did not change
                return
            row["tier"] = data["tier"]
        else:  # Customer.MergedInto
            row["merged_into"] = str(data["survivor_id"])
        customers.put(row)

    def policy_event(self, event: EventRecord) -> None:
        staged = self.batch.table(sla_policies)
        at = utc(event.occurred_at)
        data = event.data
        if event.type == "SlaPolicy.Defined":
            row: dict[str, Any] | None = {"policy_id": event.aggregate_id, "tenant": event.tenant, "defined_at": at, "retired": False}
        else:
            row = staged.get(policy_id=event.aggregate_id)
            if row is None:
                return
        assert row is not None
        if event.type == "SlaPolicy.Retired":
            row["retired"] = True
        else:
            row["name"], row["rank"] = data["name"], data["rank"]
            row["body"] = {key: data[key] for key in ("match", "targets", "warning_percent", "calendar")}
            # Version 1 of these events had no escalation: such a policy escalates by the defaults.
            row["body"]["escalation"] = data.get("escalation", DEFAULT_ESCALATION)
        row["version"] = event.version
        row["updated_at"] = at
        staged.put(row)
        self._staged_policies[row["policy_id"]] = row
        loaded = self._policies.get(row["tenant"])
        if loaded is not None:
            loaded[row["policy_id"]] = policy_snapshot(row)

