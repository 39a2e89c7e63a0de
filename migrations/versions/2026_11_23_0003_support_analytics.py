"""Support analytics read model: per-ticket facts and per-day counters (projections/analytics.py).

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_tickets",
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_reply_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_reply_day", sa.Date(), nullable=True),
        sa.Column("first_reply_seconds", sa.Float(), nullable=True),
        sa.Column("solved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("solved_day", sa.Date(), nullable=True),
        sa.Column("resolution_seconds", sa.Float(), nullable=True),
        sa.Column("solve_days", sa.Text(), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rated_day", sa.Date(), nullable=True),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("generation", "tenant", "ticket_id", name="pk_analytics_tickets"),
    )
    op.create_index(
        "ix_analytics_tickets_generation_tenant_first_reply_day",
        "analytics_tickets",
        ["generation", "tenant", "first_reply_day"],
    )
    op.create_index(
        "ix_analytics_tickets_generation_tenant_solved_day",
        "analytics_tickets",
        ["generation", "tenant", "solved_day"],
    )
    op.create_table(
        "analytics_daily",
        sa.Column("generation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("solved", sa.Integer(), nullable=False),
        sa.Column("csat_sum", sa.Integer(), nullable=False),
        sa.Column("csat_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("generation", "tenant", "day", "channel", name="pk_analytics_daily"),
    )


def downgrade() -> None:
    op.drop_table("analytics_daily")
    op.drop_index("ix_analytics_tickets_generation_tenant_solved_day", table_name="analytics_tickets")
    op.drop_index("ix_analytics_tickets_generation_tenant_first_reply_day", table_name="analytics_tickets")
    op.drop_table("analytics_tickets")
