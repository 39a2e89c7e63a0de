"""The customer timeline read model: entries, customers (with merges), identities, and its lookups.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timeline_entries",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("ticket_id", sa.String(36), nullable=True),
        sa.Column("conversation_id", sa.String(36), nullable=True),
        sa.Column("message_id", sa.String(36), nullable=True),
        sa.Column("actor_kind", sa.String(32), nullable=False),
        sa.Column("actor_id", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("generation", "position", name="pk_timeline_entries"),
    )
    op.create_index(
        "ix_timeline_entries_generation_customer_id_occurred_at_position",
        "timeline_entries",
        ["generation", "customer_id", "occurred_at", "position"],
    )
    op.create_table(
        "timeline_customers",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("merged_into", sa.String(36), nullable=True),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("tier", sa.String(32), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("generation", "customer_id", name="pk_timeline_customers"),
    )
    op.create_index("ix_timeline_customers_generation_merged_into", "timeline_customers", ["generation", "merged_into"])
    op.create_table(
        "customer_identities",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("generation", "tenant", "kind", "channel", "value", name="pk_customer_identities"),
    )
    op.create_table(
        "timeline_tickets",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("generation", "ticket_id", name="pk_timeline_tickets"),
    )
    op.create_table(
        "timeline_conversations",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("generation", "conversation_id", name="pk_timeline_conversations"),
    )


def downgrade() -> None:
    op.drop_table("timeline_conversations")
    op.drop_table("timeline_tickets")
    op.drop_table("customer_identities")
    op.drop_index("ix_timeline_customers_generation_merged_into", table_name="timeline_customers")
    op.drop_table("timeline_customers")
    op.drop_index("ix_timeline_entries_generation_customer_id_occurred_at_position", table_name="timeline_entries")
    op.drop_table("timeline_entries")
