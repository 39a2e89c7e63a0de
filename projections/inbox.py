"""The ticket inbox: one row per live ticket, shaped for agents' work queues.

`inbox_tickets` holds what a queue shows and filters on (status, priority, channel, language,
category, assignee, team, tags) and the sort keys of every view: the most urgent SLA due time
(`due_sort`), then priority (`priority_rank`), then age (`opened_ms`), then the ticket id. Each
view reads an index in that order, so a page is a LIMIT on an index range (see inbox_queries).
`inbox_ticket_tags` answers the tag filter. A ticket merged into another leaves the inbox.

Unassigned tickets have assignee '' and tickets of no team have team '' (not NULL), so the
views' equality conditions use their indexes.

The SLA columns (`sla_policy_*`, `next_due_at`, `due_sort`, `breach_at`, `sla_clocks`) are
kept from each ticket's SLA clocks, when the ticket has some; without them a ticket sorts after
every ticket that has a due time.

Every row depends only on the events (times are the events' own), so a rebuild writes the same
rows as following the log did.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, SmallInteger, String, Table, Text

from .event_record import EventRecord
from .read_model import Batch, ReadModel
from .schema import generation_column, metadata
from .staging import StagedTable

NAME = "inbox"
SUBJECT_EXCERPT = 120
UNASSIGNED = ""  # assignee and team of a ticket without one
# due_sort of a ticket with no running SLA clock: after every real due time (epoch ms).
DUE_NEVER = 2**62
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
UNSOLVED_STATUSES = ("new", "open", "pending", "on_hold")

inbox_tickets = Table(
    "inbox_tickets",
    metadata,
    generation_column(),
    Column("ticket_id", String(36), primary_key=True),
    Column("tenant", String(128), nullable=False),
    Column("customer_id", String(36), nullable=False),
    Column("subject", Text, nullable=False),  # its first SUBJECT_EXCERPT characters
    Column("channel", String(32), nullable=False),
    Column("language", String(35), nullable=True),
    Column("status", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("priority_rank", SmallInteger, nullable=False),
    Column("category", String(32), nullable=True),
    Column("assignee", String(128), nullable=False),
    Column("team", String(128), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("last_customer_message_at", DateTime(timezone=True), nullable=True),
    Column("reply_count", Integer, nullable=False),
    Column("sla_policy_id", String(36), nullable=True),
    Column("sla_policy_version", Integer, nullable=True),
    # The most urgent due time among the ticket's running SLA clocks; None when none runs.
    Column("next_due_at", DateTime(timezone=True), nullable=True),
    # Epoch milliseconds of next_due_at, or DUE_NEVER: the first sort key of every view.
    Column("due_sort", BigInteger, nullable=False),
    # When the ticket is (or, unless something happens, will be) in breach: the earliest due time
    # of a running clock or of a paused clock already past its target. breached <=> breach_at <= now.
    Column("breach_at", DateTime(timezone=True), nullable=True),
    # The clocks still counting or paused, as the list shows them at query time (see sla_summary).
    Column("sla_clocks", JSON, nullable=True),
    Column("opened_ms", BigInteger, nullable=False),
    Index(None, "generation", "tenant", "due_sort", "priority_rank", "opened_ms", "ticket_id"),
    Index(None, "generation", "tenant", "assignee", "due_sort", "priority_rank", "opened_ms", "ticket_id"),
    Index(None, "generation", "tenant", "team", "due_sort", "priority_rank", "opened_ms", "ticket_id"),
)

inbox_ticket_tags = Table(
    "inbox_ticket_tags",
    metadata,
    generation_column(),
    Column("ticket_id", String(36), primary_key=True),
    Column("tag", String(64), primary_key=True),
    Index(None, "generation", "tag", "ticket_id"),
)


def utc(moment: datetime) -> datetime:
    """An instant in UTC; SQLite hands stored instants back naive, and they were stored in UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def epoch_ms(moment: datetime) -> int:
    return int(utc(moment).timestamp() * 1000)


def excerpt(text: str) -> str:
    return text if len(text) <= SUBJECT_EXCERPT else text[: SUBJECT_EXCERPT - 1] + "…"


def put_new(staged: StagedTable, row: dict[str, Any]) -> None:
    """`staged.put(row)` for a row known not to be stored yet, without the lookup `put` makes.

    New rows are most of a rebuild's rows (a ticket's row when it opens, its tags, its clocks),
    and the lookup that tells `put` whether to insert or update costs more than everything else
    an event does. StagedTable has no public way to stage a known-new row that later events of
    the batch may still change or delete (`append` rows are final), so this stages it as `put`
    would have after finding nothing: stored None, current row. If StagedTable's internals ever
    differ, or the key is already staged in this batch, it is a plain `put`.
    """
    rows = getattr(staged, "_rows", None)
    key = tuple(row[name] for name in staged.key_columns)
    if not isinstance(rows, dict) or key in rows:
        staged.put(row)
        return
    rows[key] = (None, {name: row.get(name) for name in (*staged.key_columns, *staged.value_columns)})


class TicketInbox(ReadModel):
    name = NAME
    tables = (inbox_tickets, inbox_ticket_tags)
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
        }
    )

    def apply(self, batch: Batch, event: EventRecord) -> None:
        if event.type == "Ticket.Opened":
            self._opened(batch, event)
            return
        tickets = batch.table(inbox_tickets)
        row = tickets.get(ticket_id=event.aggregate_id)
        if row is None:  # merged away already, or never seen opened
            return
        if event.type == "Ticket.MergedInto":
            self._merged_away(batch, row)
            return
        data = event.data
        row["updated_at"] = utc(event.occurred_at)
        kind = event.type
        if kind == "Ticket.CustomerMessageAdded":
            row["last_customer_message_at"] = utc(event.occurred_at)
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
        tickets.put(row)

    # -- per event type ------------------------------------------------------------------------

    @staticmethod
    def _opened(batch: Batch, event: EventRecord) -> None:
        data = event.data
        at = utc(event.occurred_at)
        priority = str(data["priority"])
        category = data.get("category")
        # A ticket opens once, with a new id: its row is new.
        put_new(
            batch.table(inbox_tickets),
            {
                "ticket_id": event.aggregate_id,
                "tenant": event.tenant,
                "customer_id": str(data["customer_id"]),
                "subject": excerpt(data["subject"]),
                "channel": str(data["channel"]),
                "language": data.get("language"),
                "status": "new",
                "priority": priority,
                "priority_rank": PRIORITY_RANK[priority],
                "category": str(category) if category else None,
                "assignee": UNASSIGNED,
                "team": UNASSIGNED,
                "tags": [],
                "opened_at": at,
                "updated_at": at,
                "last_customer_message_at": None,
                "reply_count": 0,
                "sla_policy_id": None,
                "sla_policy_version": None,
                "next_due_at": None,
                "due_sort": DUE_NEVER,
                "breach_at": None,
                "sla_clocks": None,
                "opened_ms": epoch_ms(at),
            },
        )

    @staticmethod
    def _tagged(batch: Batch, row: dict[str, Any], tags: list[str]) -> None:
        added = [t for t in tags if t not in row["tags"]]
        if not added:
            return
        row["tags"] = [*row["tags"], *added]
        staged = batch.table(inbox_ticket_tags)
        for tag in added:
            # A tag's row is stored while the tag is on the ticket; this one was not (or its row's
            # delete is staged in this batch, and put_new is then a plain put).
            put_new(staged, {"ticket_id": row["ticket_id"], "tag": tag})

    @staticmethod
    def _untagged(batch: Batch, row: dict[str, Any], tags: list[str]) -> None:
        removed = [t for t in row["tags"] if t in tags]
        if not removed:
            return
        row["tags"] = [t for t in row["tags"] if t not in removed]
        staged = batch.table(inbox_ticket_tags)
        for tag in removed:
            staged.delete(ticket_id=row["ticket_id"], tag=tag)

    @staticmethod
    def _merged_away(batch: Batch, row: dict[str, Any]) -> None:
        staged = batch.table(inbox_ticket_tags)
        for tag in row["tags"]:
            staged.delete(ticket_id=row["ticket_id"], tag=tag)
        batch.table(inbox_tickets).delete(ticket_id=row["ticket_id"])
