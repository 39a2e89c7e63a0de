"""The support analytics tables: one row per ticket, and per-day counters."""
from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Float, Index, Integer, SmallInteger, String, Table, Text

from ..schema import generation_column, metadata

analytics_tickets = Table(
    "analytics_tickets",
    metadata,
    generation_column(),
    Column("tenant", String(128), primary_key=True),
    Column("ticket_id", String(36), primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("first_reply_at", DateTime(timezone=True), nullable=True),
    Column("first_reply_day", Date, nullable=True),
    Column("first_reply_seconds", Float, nullable=True),
    # The latest solve, while the ticket stays solved (or closed after it); None once reopened.
    Column("solved_at", DateTime(timezone=True), nullable=True),
    Column("solved_day", Date, nullable=True),
    Column("resolution_seconds", Float, nullable=True),
    # The UTC days of every transition to solved ("2026-11-02,2026-11-04"), so a merge can withdraw them.
    Column("solve_days", Text, nullable=False),
    Column("rating", SmallInteger, nullable=True),
    Column("rated_at", DateTime(timezone=True), nullable=True),
    Column("rated_day", Date, nullable=True),
    Column("merged_at", DateTime(timezone=True), nullable=True),
    Index(None, "generation", "tenant", "first_reply_day"),
    Index(None, "generation", "tenant", "solved_day"),
)

analytics_daily = Table(
    "analytics_daily",
    metadata,
    generation_column(),
    Column("tenant", String(128), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("channel", String(32), primary_key=True),
    Column("opened", Integer, nullable=False),
    Column("solved", Integer, nullable=False),
    Column("csat_sum", Integer, nullable=False),
    Column("csat_count", Integer, nullable=False),
)

COUNTERS = ("opened", "solved", "csat_sum", "csat_count")
