"""The inbox's tables: one row per live ticket, its tags, and each view's counts."""
from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, SmallInteger, String, Table, Text

from ..schema import generation_column, metadata

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
    # The clocks still counting or paused, as the list shows them at query time (clock_summary).
    Column("sla_clocks", JSON, nullable=True),
    Column("opened_ms", BigInteger, nullable=False),
    Index(None, "generation", "tenant", "due_sort", "priority_rank", "opened_ms", "ticket_id"),
    Index(None, "generation", "tenant", "assignee", "due_sort", "priority_rank", "opened_ms", "ticket_id"),
    Index(None, "generation", "tenant", "team", "due_sort", "priority_rank", "opened_ms", "ticket_id"),
    # counts' "breached": an index range up to now (breach_at is None once a ticket is solved).
    Index(None, "generation", "tenant", "breach_at", "status"),
)

# How many unsolved tickets each (status, assignee, team) holds, so counting a view reads a few
# rows, not every ticket; a bucket that empties is deleted.
inbox_counts = Table(
    "inbox_counts",
    metadata,
    generation_column(),
    Column("tenant", String(128), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("assignee", String(128), primary_key=True),
    Column("team", String(128), primary_key=True),
    Column("tickets", Integer, nullable=False),
)

inbox_ticket_tags = Table(
    "inbox_ticket_tags",
    metadata,
    generation_column(),
    Column("ticket_id", String(36), primary_key=True),
    Column("tag", String(64), primary_key=True),
    Index(None, "generation", "tag", "ticket_id"),
)

