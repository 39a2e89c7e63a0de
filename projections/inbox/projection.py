"""The ticket inbox: one row per live ticket, shaped for agents' work queues, with its SLA.

`inbox_tickets` holds what a queue shows and filters on (status, priority, channel, language,
category, assignee, team, tags) and the sort keys of every view: the most urgent SLA due time
(`due_sort`), then priority (`priority_rank`), then age (`opened_ms`), then the ticket id. Each
view reads an index in that order, so a page is a LIMIT on an index range (see queries.py).
`inbox_ticket_tags` answers the tag filter. Unassigned tickets have assignee '' and tickets of
no team have team '' (not NULL), so the views' equality conditions use their indexes.

The SLA tables (projections/sla) move with the inbox: the inbox sorts by SLA due, so this one
read model writes both in one transaction, the SLA book (sla/book.py) keeping the clocks and
the inbox row the most urgent due time. Whether a clock is breached *now* is worked out at
query time. A ticket merged into another leaves the inbox and its SLA rows go with it.

Speed: `prefetch` reads the batch's ticket, SLA and customer rows in a few statements and notes
the batch's last event; events then only change the rows in memory, and after the last event
each changed ticket's clocks, inbox row and the views' counters are staged once. Applied
without `prefetch` (a caller that does not announce the batch), rows are staged after every event.

Every row depends only on the events (times are the events' own, never the wall clock), so a
rebuild writes the same rows as following the log did.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from ..event_record import EventRecord
from ..instants import epoch_ms, utc
from ..read_model import Batch, ReadModel
from ..sla.book import EVENT_TYPES as SLA_EVENT_TYPES
from ..sla.book import SlaBook
from ..sla.clocks import NO_SLA_FIELDS
from ..sla.measure import RESELECTING, drive_clocks, drives_clocks
from ..sla.tables import sla_clocks, sla_customers, sla_escalations, sla_policies, sla_tickets
from ..text import excerpt
from .tables import inbox_counts, inbox_ticket_tags, inbox_tickets

NAME = "inbox"
SUBJECT_EXCERPT = 120
UNASSIGNED = ""  # assignee and team of a ticket without one
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
UNSOLVED_STATUSES = ("new", "open", "pending", "on_hold")
_UNREAD: Any = object()


def _bucket(row: dict[str, Any]) -> tuple[str, str, str, str] | None:
    """The ticket's inbox_counts key; None when solved or closed (counts are of unsolved tickets)."""
    if row["status"] not in UNSOLVED_STATUSES:
        return None
    return row["tenant"], row["status"], row["assignee"], row["team"]


@dataclass
class _BatchState:
    sla: SlaBook
    # The position of the batch's last event, when `prefetch` announced the batch: the rows the
    # batch changes are then written once, after that event. Without it, after every event.
    last_position: int | None = None
    # inbox_tickets rows as the batch has them (None: deleted), and which to write / re-clock.
    rows: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    changed_rows: set[str] = field(default_factory=set)
    changed_clocks: set[str] = field(default_factory=set)
    count_deltas: dict[tuple[str, str, str, str], int] = field(default_factory=dict)


class TicketInbox(ReadModel):
    name = NAME
    tables = (inbox_tickets, inbox_ticket_tags, inbox_counts, sla_policies, sla_customers, sla_tickets, sla_clocks,
              sla_escalations)
    event_types = frozenset(
        {
            "Ticket.Opened",
            "Ticket.CustomerMessageAdded",
            "Ticket.ReplySent",
            "Ticket.NoteAdded",
            "Ticket.StatusChanged",
            "Ticket.PriorityChanged",
            "Ticket.CategoryChanged",
            "Ticket.Assigned",
            "Ticket.Unassigned",
            "Ticket.TransferredToTeam",
            "Ticket.Tagged",
            "Ticket.Untagged",
            "Ticket.OrderLinked",
            "Ticket.MergedInto",
            "Ticket.TicketMergedIn",
            "Ticket.Rated",
            "Ticket.Escalated",
            "Ticket.Queued",
            # Nothing to show, but every ticket event moves updated_at: escalation trusts a
            # ticket's clocks only while updated_at is the ticket's last event (escalate_ticket.py).
            "Ticket.ConversationLinked",
        }
    ) | SLA_EVENT_TYPES

    def __init__(self) -> None:
        # Per batch (a batch is one transaction of one generation); gone with the batch.
        self._batches: weakref.WeakKeyDictionary[Batch, _BatchState] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def _state(self, batch: Batch) -> _BatchState:
        with self._lock:
            state = self._batches.get(batch)
            if state is None:
                state = self._batches[batch] = _BatchState(SlaBook(batch))
            return state

    def prefetch(self, batch: Batch, events: list[EventRecord]) -> None:
        """Reads the batch's ticket, SLA and customer rows in a few statements, and notes its last
        event: the rows the batch changes are written once, after it."""
        if not events:
            return
        state = self._state(batch)
        state.last_position = events[-1].position
        opened = {e.aggregate_id for e in events if e.type == "Ticket.Opened"}
        # Opened tickets too, whose rows should not exist yet: read absent, their new rows are
        # written with a plain INSERT (COPY on PostgreSQL) instead of upserted blind, which cost
        # the server more than reading the keys in the same statements (PostgreSQL replay of
        # 1,500 tickets: sla_tickets writes 0.22 -> 0.12 s, inbox_tickets 0.11 -> 0.08 s).
        tickets = {e.aggregate_id for e in events if e.type.startswith("Ticket.")}
        batch.table(inbox_tickets).prefetch({"ticket_id": t} for t in tickets)
        state.sla.prefetch(events, opened, tickets)

    def apply(self, batch: Batch, event: EventRecord) -> None:
        state = self._state(batch)
        kind = event.type
        if kind.startswith("Ticket."):
            self._ticket_event(batch, state, event)
        elif kind.startswith("Customer."):
            state.sla.customer_event(event)
        else:
            state.sla.policy_event(event)
        if state.last_position is None or event.position >= state.last_position:
            self._write(batch, state)

    # -- the batch's writes ---------------------------------------------------------------------------

    def _write(self, batch: Batch, state: _BatchState) -> None:
        """Stages what the events so far changed: clocks, inbox rows, counts."""
        for ticket_id in state.changed_clocks:
            fields = state.sla.sync_clocks(ticket_id)
            row = state.rows.get(ticket_id)
            if row is not None:
                row.update(fields)
                state.changed_rows.add(ticket_id)
        tickets = batch.table(inbox_tickets)
        for ticket_id in state.changed_rows:
            row = state.rows.get(ticket_id)
            if row is not None:
                tickets.put(row)
        state.changed_clocks.clear()
        state.changed_rows.clear()
        deltas = {key: n for key, n in state.count_deltas.items() if n}
        state.count_deltas.clear()
        if deltas:
            counters = batch.table(inbox_counts)
            keys = [dict(zip(("tenant", "status", "assignee", "team"), key)) for key in deltas]
            counters.prefetch(keys)
            for key, delta in zip(keys, deltas.values()):
                row = counters.get(**key) or {**key, "tickets": 0}
                row["tickets"] += delta
                if row["tickets"] > 0:
                    counters.put(row)
                else:
                    counters.delete(**key)

    @staticmethod
    def _count(state: _BatchState, key: tuple[str, str, str, str] | None, delta: int) -> None:
        if key is not None:
            state.count_deltas[key] = state.count_deltas.get(key, 0) + delta

    # -- tickets ------------------------------------------------------------------------------------

    def _ticket_event(self, batch: Batch, state: _BatchState, event: EventRecord) -> None:
        if event.type == "Ticket.Opened":
            self._opened(state, event)
            return
        ticket_id = event.aggregate_id
        row = state.rows.get(ticket_id, _UNREAD)
        if row is _UNREAD:
            row = state.rows[ticket_id] = batch.table(inbox_tickets).get(ticket_id=ticket_id)
        if row is None:  # merged away already, or never seen opened
            return
        if event.type == "Ticket.MergedInto":
            self._merged_away(batch, state, row)
            return
        bucket = _bucket(row)
        data = event.data
        at = utc(event.occurred_at)
        row["updated_at"] = at
        kind = event.type
        if kind == "Ticket.CustomerMessageAdded":
            row["last_customer_message_at"] = at
        elif kind == "Ticket.ReplySent":
            row["reply_count"] += 1
        elif kind == "Ticket.StatusChanged":
            row["status"] = str(data["to_status"])
        elif kind == "Ticket.PriorityChanged":
            row["priority"] = str(data["to_priority"])
            row["priority_rank"] = PRIORITY_RANK[row["priority"]]
        elif kind == "Ticket.CategoryChanged":
            row["category"] = str(data["category"])
        elif kind == "Ticket.Assigned":
            row["assignee"] = data["agent_id"]
            if data.get("team_id") is not None:
                row["team"] = data["team_id"]
        elif kind == "Ticket.Unassigned":
            row["assignee"] = UNASSIGNED
        elif kind == "Ticket.TransferredToTeam":
            row["team"] = data["team_id"]
            row["assignee"] = UNASSIGNED
        elif kind == "Ticket.Tagged":
            self._tagged(batch, row, data["tags"])
        elif kind == "Ticket.Untagged":
            self._untagged(batch, row, data["tags"])
        elif kind == "Ticket.Escalated":
            escalations = batch.table(sla_escalations)
            for level in data["levels"]:
                escalations.put({"ticket_id": ticket_id, "metric": data["metric"], "cycle": data["cycle"], "level": level,
                                 "tenant": row["tenant"], "escalated_at": at})
        # The clocks: sla/measure.py says which events move them and how.
        if drives_clocks(event):
            drive_clocks(state.sla.of(ticket_id, row).sla, event)
            state.changed_clocks.add(ticket_id)
        elif kind in RESELECTING:
            state.sla.reselect(row, at)
            state.changed_clocks.add(ticket_id)
        state.changed_rows.add(ticket_id)
        if _bucket(row) != bucket:
            self._count(state, bucket, -1)
            self._count(state, _bucket(row), +1)

    def _opened(self, state: _BatchState, event: EventRecord) -> None:
        data = event.data
        at = utc(event.occurred_at)
        ticket_id, tenant = event.aggregate_id, event.tenant
        priority, channel = str(data["priority"]), str(data["channel"])
        category = str(data["category"]) if data.get("category") else None
        customer_id = str(data["customer_id"])
        state.sla.open(ticket_id, tenant, channel, priority, category, customer_id, at)
        row = state.rows[ticket_id] = {
            "ticket_id": ticket_id,
            "tenant": tenant,
            "customer_id": customer_id,
            "subject": excerpt(data["subject"], SUBJECT_EXCERPT),
            "channel": channel,
            "language": data.get("language"),
            "status": "new",
            "priority": priority,
            "priority_rank": PRIORITY_RANK[priority],
            "category": category,
            "assignee": UNASSIGNED,
            "team": UNASSIGNED,
            "tags": [],
            "opened_at": at,
            "updated_at": at,
            "last_customer_message_at": None,
            "reply_count": 0,
            "opened_ms": epoch_ms(at),
            **NO_SLA_FIELDS,
        }
        state.changed_clocks.add(ticket_id)
        state.changed_rows.add(ticket_id)
        self._count(state, _bucket(row), +1)

    @staticmethod
    def _tagged(batch: Batch, row: dict[str, Any], tags: list[str]) -> None:
        added = [t for t in tags if t not in row["tags"]]
        if not added:
            return
        row["tags"] = [*row["tags"], *added]
        staged = batch.table(inbox_ticket_tags)
        for tag in added:
            staged.put({"ticket_id": row["ticket_id"], "tag": tag})

    @staticmethod
    def _untagged(batch: Batch, row: dict[str, Any], tags: list[str]) -> None:
        removed = [t for t in row["tags"] if t in tags]
        if not removed:
            return
        row["tags"] = [t for t in row["tags"] if t not in removed]
        staged = batch.table(inbox_ticket_tags)
        for tag in removed:
            staged.delete(ticket_id=row["ticket_id"], tag=tag)

    def _merged_away(self, batch: Batch, state: _BatchState, row: dict[str, Any]) -> None:
        ticket_id = row["ticket_id"]
        staged = batch.table(inbox_ticket_tags)
        for tag in row["tags"]:
            staged.delete(ticket_id=ticket_id, tag=tag)
        batch.table(inbox_tickets).delete(ticket_id=ticket_id)
        state.rows[ticket_id] = None
        state.changed_rows.discard(ticket_id)
        state.changed_clocks.discard(ticket_id)
        self._count(state, _bucket(row), -1)
        state.sla.drop(ticket_id, row)
