"""The SLA tables: each tenant's policies, customers' tiers, each ticket's SLA state and its clocks.

They move with the inbox: the inbox sorts by the most urgent SLA due time, so the read model
"inbox" writes its rows and these in one transaction (see inbox/projection.py).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
    text,
)

from ledgerdesk.domain.sla import TicketSla

from ..schema import generation_column, metadata


class SlaStateJSON(TypeDecorator):
    """The `TicketSla` of a ticket, stored as its `to_dict()` JSON.

    A batch keeps the live TicketSla object in the staged row and changes it event by event;
    it is turned into JSON once, when the batch is written. Reading gives the plain dict.
    """

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return value.to_dict() if isinstance(value, TicketSla) else value


sla_policies = Table(
    "sla_policies",
    metadata,
    generation_column(),
    Column("policy_id", String(36), primary_key=True),
    Column("tenant", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("defined_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("retired", Boolean, nullable=False),
    # {"match", "targets", "warning_percent", "calendar"} as the policy's latest event carries them.
    Column("body", JSON, nullable=False),
    Index(None, "generation", "tenant"),
)

# Each customer's tier (and whom a merged customer became), for policies that match on tiers.
sla_customers = Table(
    "inbox_customers",
    metadata,
    generation_column(),
    Column("customer_id", String(36), primary_key=True),
    Column("tenant", String(128), nullable=False),
    Column("tier", String(40), nullable=True),
    Column("merged_into", String(36), nullable=True),
)

sla_tickets = Table(
    "sla_tickets",
    metadata,
    generation_column(),
    Column("ticket_id", String(36), primary_key=True),
    Column("tenant", String(128), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("category", String(32), nullable=True),
    Column("customer_id", String(36), nullable=False),
    Column("policy_id", String(36), nullable=True),
    Column("policy_version", Integer, nullable=True),
    Column("state", SlaStateJSON, nullable=False),  # TicketSla.to_dict()
)

# One row per clock (metric instance) of a ticket. Reports read it: a clock is met when stopped
# with breached_at null, missed when stopped with breached_at set or running with due_at < now.
sla_clocks = Table(
    "sla_clocks",
    metadata,
    generation_column(),
    Column("ticket_id", String(36), primary_key=True),
    Column("metric", String(32), primary_key=True),
    Column("cycle", Integer, primary_key=True, autoincrement=False),
    Column("tenant", String(128), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("target_seconds", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=True),
    Column("warning_at", DateTime(timezone=True), nullable=True),
    Column("stopped_at", DateTime(timezone=True), nullable=True),
    Column("breached_at", DateTime(timezone=True), nullable=True),
    # Defaults only for rows written by others (report fixtures): the model always sets both.
    Column("paused", Boolean, nullable=False, server_default=false()),
    Column("elapsed_seconds", Float, nullable=False, server_default=text("0")),
    Column("running_since", DateTime(timezone=True), nullable=True),
    # Reports read the clocks decided in a period: stopped in it, or (running) overdue in it.
    Index(None, "generation", "tenant", "stopped_at"),
    Index(None, "generation", "tenant", "due_at"),
    # The escalation sweep: running clocks past (or next to reach) their warning or due time.
    Index(None, "generation", "stopped_at", "due_at"),
    Index(None, "generation", "stopped_at", "warning_at"),
)

# The levels (warning, breach) each clock was escalated for (Ticket.Escalated), so the sweep
# asks only about clocks that still owe an escalation.
sla_escalations = Table(
    "sla_escalations",
    metadata,
    generation_column(),
    Column("ticket_id", String(36), primary_key=True),
    Column("metric", String(32), primary_key=True),
    Column("cycle", Integer, primary_key=True, autoincrement=False),
    Column("level", String(16), primary_key=True),
    Column("tenant", String(128), nullable=False),
    Column("escalated_at", DateTime(timezone=True), nullable=False),
)


