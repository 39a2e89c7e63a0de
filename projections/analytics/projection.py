"""Support analytics: per tenant, channel and UTC day, what was opened, solved, answered and rated.

Two tables, both written only from event facts (event times, never the wall clock):

`analytics_tickets`, one row per ticket: its channel, when it was opened, its first public
agent reply, its current solve and its current rating. Medians and p90s need the single
durations, so they are computed at query time from these rows (`analytics_queries`).

`analytics_daily`, one row per (tenant, UTC day, channel): counters that only ever need
summing — tickets opened, transitions to solved, CSAT sum and count.

Choices, so the numbers mean one thing:

- Days are UTC calendar days of the event's time (`occurred_at`), whatever the tenant's zone.
- Durations are wall-clock seconds (not business hours) between event times.
- First reply time: ticket opened → first public agent reply (`Ticket.ReplySent` by an agent, or
  by an integrator relaying an agent's reply from a channel's seller console). Replies by
  automation (actor kinds `system`, `policy`) are not a human answer and do not stop it.
  Attributed to the day of the reply.
- Tickets solved: transitions to `solved` on that day. A ticket solved, reopened and solved again
  counts on both solve days, because both solves happened.
- Resolution time is the "full resolution time" a helpdesk shows: opened → latest solve, for
  tickets that are solved (or closed after solving) now. Reopening withdraws the ticket's
  resolution time; solving again records it once more, on the new solve day. So a ticket counts
  at most once, with the time its customer actually waited for the final answer. Closing a solved
  ticket keeps its resolution.
- A ticket merged away (`Ticket.MergedInto`) is a duplicate, not a solved case: merging is no
  solve, and any solves it had before are withdrawn from the solved counts and from resolution
  time. It still counts as opened that day, and its first reply and rating (customer-given)
  stay.
- CSAT: a ticket's latest rating replaces its earlier one; the earlier score leaves the sum and
  count of its day, the new one joins the day of the new rating.

Counter rows whose counters all went back to zero are deleted, so the table holds no empty days.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ledgerdesk.domain.audit import HUMAN_ACTOR_KINDS

from ..event_record import EventRecord
from ..instants import utc
from ..read_model import Batch, ReadModel
from ..staging import StagedTable
from .tables import COUNTERS, analytics_daily, analytics_tickets

NAME = "analytics"
SOLVED = "solved"
CLOSED = "closed"


def seconds_between(start: datetime, end: datetime) -> float:
    return (utc(end) - utc(start)).total_seconds()


class SupportAnalytics(ReadModel):
    name = NAME
    tables = (analytics_tickets, analytics_daily)
    event_types = frozenset(
        {"Ticket.Opened", "Ticket.ReplySent", "Ticket.StatusChanged", "Ticket.Rated", "Ticket.MergedInto"}
    )

    def prefetch(self, batch: Batch, events: list[EventRecord]) -> None:
        tickets = batch.table(analytics_tickets)
        tickets.prefetch({"tenant": e.tenant, "ticket_id": e.aggregate_id} for e in events)
        batch.table(analytics_daily).prefetch(_counter_keys(tickets, events))

    def apply(self, batch: Batch, event: EventRecord) -> None:
        tickets = batch.table(analytics_tickets)
        at = utc(event.occurred_at)
        if event.type == "Ticket.Opened":
            if tickets.get(tenant=event.tenant, ticket_id=event.aggregate_id) is not None:
                return
            channel = str(event.data["channel"])
            tickets.put(_new_ticket(event.tenant, event.aggregate_id, channel, at))
            self._count(batch, event.tenant, at.date(), channel, opened=1)
            return
        ticket = tickets.get(tenant=event.tenant, ticket_id=event.aggregate_id)
        if ticket is None:  # not a ticket this model saw opened (cannot happen in a whole log)
            return
        if event.type == "Ticket.ReplySent":
            changed = self._replied(ticket, event, at)
        elif event.type == "Ticket.StatusChanged":
            changed = self._status_changed(batch, ticket, event, at)
        elif event.type == "Ticket.Rated":
            changed = self._rated(batch, ticket, event, at)
        else:  # Ticket.MergedInto
            changed = self._merged(batch, ticket, at)
        if changed:
            tickets.put(ticket)

    # -- per event type ------------------------------------------------------------------------

    @staticmethod
    def _replied(ticket: dict[str, Any], event: EventRecord, at: datetime) -> bool:
        if ticket["first_reply_at"] is not None or event.actor_kind not in HUMAN_ACTOR_KINDS:
            return False
        ticket["first_reply_at"] = at
        ticket["first_reply_day"] = at.date()
        ticket["first_reply_seconds"] = seconds_between(ticket["opened_at"], at)
        return True

    def _status_changed(self, batch: Batch, ticket: dict[str, Any], event: EventRecord, at: datetime) -> bool:
        to_status, from_status = str(event.data["to_status"]), str(event.data["from_status"])
        if ticket["merged_at"] is not None:
            return False
        if to_status == SOLVED:
            self._count(batch, ticket["tenant"], at.date(), ticket["channel"], solved=1)
            ticket["solved_at"] = at
            ticket["solved_day"] = at.date()
            ticket["resolution_seconds"] = seconds_between(ticket["opened_at"], at)
            ticket["solve_days"] = ",".join([*_days(ticket["solve_days"]), at.date().isoformat()])
            return True
        if from_status == SOLVED and to_status != CLOSED:  # reopened: not resolved any more
            _withdraw_resolution(ticket)
            return True
        return False

    def _rated(self, batch: Batch, ticket: dict[str, Any], event: EventRecord, at: datetime) -> bool:
        score = int(event.data["score"])
        tenant, channel = ticket["tenant"], ticket["channel"]
        if ticket["rating"] is not None:
            self._count(batch, tenant, ticket["rated_day"], channel, csat_sum=-ticket["rating"], csat_count=-1)
        self._count(batch, tenant, at.date(), channel, csat_sum=score, csat_count=1)
        ticket["rating"] = score
        ticket["rated_at"] = at
        ticket["rated_day"] = at.date()
        return True

    def _merged(self, batch: Batch, ticket: dict[str, Any], at: datetime) -> bool:
        if ticket["merged_at"] is not None:
            return False
        for day in _days(ticket["solve_days"]):
            self._count(batch, ticket["tenant"], date.fromisoformat(day), ticket["channel"], solved=-1)
        ticket["solve_days"] = ""
        _withdraw_resolution(ticket)
        ticket["merged_at"] = at
        return True

    # -- counters ------------------------------------------------------------------------------

    @staticmethod
    def _count(batch: Batch, tenant: str, day: date, channel: str, **deltas: int) -> None:
        daily = batch.table(analytics_daily)
        row = daily.get(tenant=tenant, day=day, channel=channel)
        if row is None:
            row = {"tenant": tenant, "day": day, "channel": channel, **dict.fromkeys(COUNTERS, 0)}
        for counter, delta in deltas.items():
            row[counter] += delta
        if any(row[c] for c in COUNTERS):
            daily.put(row)
        else:
            daily.delete(tenant=tenant, day=day, channel=channel)


def _counter_keys(tickets: StagedTable, events: list[EventRecord]) -> list[dict[str, Any]]:
    """The analytics_daily rows the events may count on: each event's own day, and the days a
    ticket's earlier rating and solves were counted on, under the ticket's channel. Days the
    batch itself adds are its events' own days. Keys of no counted row are simply read absent."""
    channels: dict[tuple[str, str], str] = {}  # of tickets opened in this batch
    keys: dict[tuple[str, date, str], None] = {}
    for event in events:
        ticket_key = (event.tenant, event.aggregate_id)
        if event.type == "Ticket.Opened":
            channels[ticket_key] = channel = str(event.data["channel"])
            keys[(event.tenant, utc(event.occurred_at).date(), channel)] = None
            continue
        stored = tickets.get(tenant=event.tenant, ticket_id=event.aggregate_id)
        channel = stored["channel"] if stored is not None else channels.get(ticket_key)
        if channel is None:
            continue
        keys[(event.tenant, utc(event.occurred_at).date(), channel)] = None
        if stored is not None and event.type == "Ticket.Rated" and stored["rated_day"] is not None:
            keys[(event.tenant, stored["rated_day"], channel)] = None
        if stored is not None and event.type == "Ticket.MergedInto":
            for day in _days(stored["solve_days"]):
                keys[(event.tenant, date.fromisoformat(day), channel)] = None
    return [{"tenant": tenant, "day": day, "channel": channel} for tenant, day, channel in keys]


def _new_ticket(tenant: str, ticket_id: str, channel: str, opened_at: datetime) -> dict[str, Any]:
    return {
        "tenant": tenant,
        "ticket_id": ticket_id,
        "channel": channel,
        "opened_at": opened_at,
        "first_reply_at": None,
        "first_reply_day": None,
        "first_reply_seconds": None,
        "solved_at": None,
        "solved_day": None,
        "resolution_seconds": None,
        "solve_days": "",
        "rating": None,
        "rated_at": None,
        "rated_day": None,
        "merged_at": None,
    }


def _days(joined: str) -> list[str]:
    return joined.split(",") if joined else []


def _withdraw_resolution(ticket: dict[str, Any]) -> None:
    ticket["solved_at"] = None
    ticket["solved_day"] = None
    ticket["resolution_seconds"] = None
