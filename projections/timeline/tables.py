"""The customer timeline's tables: entries, and the lookups that say whose an event is."""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, String, Table, Text, text

from ..schema import generation_column, metadata

NO_CHANNEL = ""  # the `channel` of an email or phone identity

timeline_entries = Table(
    "timeline_entries",
    metadata,
    generation_column(),
    # One entry per event at most, so the log position alone keys it.
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("customer_id", String(36), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("channel", String(32), nullable=True),
    Column("ticket_id", String(36), nullable=True),
    Column("conversation_id", String(36), nullable=True),
    Column("message_id", String(36), nullable=True),
    Column("actor_kind", String(32), nullable=False),
    Column("actor_id", Text, nullable=False),
    # A message's (or a rating comment's) first EXCERPT_LENGTH characters.
    Column("text", Text, nullable=True),
    # What else this kind of entry says, as a JSON object with sorted keys.
    Column("detail", Text, nullable=False),
)
Index(None, timeline_entries.c.generation, timeline_entries.c.customer_id, timeline_entries.c.occurred_at, timeline_entries.c.position)
# Order links by their detail (`{"order_id": ...}`): the tickets of an order, for case files.
ORDER_LINKED = text("kind = 'order_linked'")
Index("ix_timeline_entries_order_links", timeline_entries.c.generation, timeline_entries.c.detail,
      sqlite_where=ORDER_LINKED, postgresql_where=ORDER_LINKED)

timeline_customers = Table(
    "timeline_customers",
    metadata,
    generation_column(),
    Column("customer_id", String(36), primary_key=True),
    Column("tenant", String(128), nullable=False),
    Column("merged_into", String(36), nullable=True),
    Column("display_name", Text, nullable=True),
    Column("tier", String(32), nullable=True),
    Column("registered_at", DateTime(timezone=True), nullable=False),
)
# Who was merged into a customer: a query gathers a survivor's whole family through it.
Index(None, timeline_customers.c.generation, timeline_customers.c.merged_into)

customer_identities = Table(
    "customer_identities",
    metadata,
    generation_column(),
    Column("tenant", String(128), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("channel", String(32), primary_key=True),  # NO_CHANNEL unless kind is channel_user
    Column("value", Text, primary_key=True),  # normalised as the domain does (domain.identity)
    Column("customer_id", String(36), nullable=False),
)

timeline_tickets = Table(
    "timeline_tickets",
    metadata,
    generation_column(),
    Column("ticket_id", String(36), primary_key=True),
    Column("customer_id", String(36), nullable=False),
    Column("channel", String(32), nullable=False),
)

timeline_conversations = Table(
    "timeline_conversations",
    metadata,
    generation_column(),
    Column("conversation_id", String(36), primary_key=True),
    Column("customer_id", String(36), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("ticket_id", String(36), nullable=True),
)
