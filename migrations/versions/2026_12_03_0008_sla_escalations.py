"""SLA escalation: the levels each clock was escalated for, and indexes for the sweep that finds
running clocks past their warning or due time.

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sla_escalations",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("generation", "ticket_id", "metric", "cycle", "level", name="pk_sla_escalations"),
    )
    op.create_index("ix_sla_clocks_generation_stopped_at_due_at", "sla_clocks", ["generation", "stopped_at", "due_at"])
    op.create_index("ix_sla_clocks_generation_stopped_at_warning_at", "sla_clocks", ["generation", "stopped_at", "warning_at"])


def downgrade() -> None:
    op.drop_index("ix_sla_clocks_generation_stopped_at_warning_at", table_name="sla_clocks")
    op.drop_index("ix_sla_clocks_generation_stopped_at_due_at", table_name="sla_clocks")
    op.drop_table("sla_escalations")
