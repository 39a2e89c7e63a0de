"""The mail quarantine's table: one row per quarantined mail, without its bytes."""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, String, Table, Text

from ..schema import generation_column, metadata

quarantined_mail = Table(
    "quarantined_mail",
    metadata,
    generation_column(),
    Column("quarantine_id", String(36), primary_key=True),
    Column("tenant", String(128), nullable=False),
    # The log position of the mail's quarantine: the list's order and its paging key.
    Column("position", BigInteger, nullable=False),
    Column("quarantined_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("field", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # domain.quarantined_mail.QuarantineStatus
    Column("released_at", DateTime(timezone=True), nullable=True),
    Column("customer_id", String(36), nullable=True),
    Column("conversation_id", String(36), nullable=True),
    Column("ticket_id", String(36), nullable=True),
    Column("message_id", String(36), nullable=True),
)
Index(None, quarantined_mail.c.generation, quarantined_mail.c.tenant, quarantined_mail.c.position)
