"""How a ticket's events drive its SLA clocks: the one mapping the inbox read model (inbox/projection.py,
sla/book.py) and as-of reads (sla/as_of.py) share, so the two can never measure differently.

- `Ticket.Opened`: the tenant's first matching policy (`select_policy`) sets the terms; clocks start.
- A customer message, a public reply by a person (automation answers nobody) and a status change
  are facts the clocks take as they are.
- A priority or category change selects the policy again; the clocks take the new terms from then
  on only when the choice (policy or its version) differs.

Which policies and which customer tier are in force is the caller's business (the read model's rows,
or the log replayed to the event's time). Imports nothing that does I/O.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from ledgerdesk.domain.audit import HUMAN_ACTOR_KINDS
from ledgerdesk.domain.sla import SlaTerms, TicketSla
from ledgerdesk.domain.sla_policy import SlaPolicySnapshot, select_policy

from ..event_record import EventRecord
from ..instants import utc

# Events that make the ticket's policy be chosen again.
RESELECTING = frozenset({"Ticket.PriorityChanged", "Ticket.CategoryChanged"})
_FACTS = frozenset({"Ticket.CustomerMessageAdded", "Ticket.ReplySent", "Ticket.StatusChanged"})

MeasuredUnder = tuple[str | None, int | None]  # (policy id, version); (None, None): nothing matched


def choose_policy(policies: Iterable[SlaPolicySnapshot], priority: str, channel: str, category: str | None,
                  tier_of: Callable[[], str | None]) -> SlaPolicySnapshot | None:
    """The ticket's policy among those in force; the customer's tier is looked up (`tier_of`) only
    when some active policy matches on tiers."""
    policies = list(policies)
    uses_tiers = any(p.match.get("customer_tiers") and not p.retired for p in policies)
    return select_policy(policies, priority, channel, category, tier_of() if uses_tiers else None)


def measured_under(policy: SlaPolicySnapshot | None) -> MeasuredUnder:
    return (policy.policy_id, policy.version) if policy is not None else (None, None)


def start_clocks(terms: SlaTerms | None, at: datetime) -> TicketSla:
    """A newly opened ticket's SLA under `terms` (None: nothing measures it)."""
    sla = TicketSla(terms)
    sla.opened(at)
    return sla


def drives_clocks(event: EventRecord) -> bool:
    """Whether the event is a fact the clocks take as it is (see `drive_clocks`)."""
    return event.type in _FACTS and (event.type != "Ticket.ReplySent" or event.actor_kind in HUMAN_ACTOR_KINDS)


def drive_clocks(sla: TicketSla, event: EventRecord) -> None:
    """Feeds the clocks a customer message, a person's public reply or a status change."""
    at = utc(event.occurred_at)
    if event.type == "Ticket.CustomerMessageAdded":
        sla.customer_message(at)
    elif event.type == "Ticket.ReplySent":
        sla.agent_reply(at)
    elif event.type == "Ticket.StatusChanged":
        sla.status_changed(str(event.data["to_status"]), at)


def reselect(sla: TicketSla, under: MeasuredUnder, policy: SlaPolicySnapshot | None,
             terms_of: Callable[[SlaPolicySnapshot | None], SlaTerms | None], at: datetime) -> MeasuredUnder:
    """The policy chosen again: the clocks take its terms from `at` on if it is another policy or
    another version; answers what the ticket is now measured under."""
    chosen = measured_under(policy)
    if chosen != under:
        sla.retarget(terms_of(policy), at)
    return chosen
