"""Parked events: what a read model could not apply, the tenants held behind them, and each
generation's last failure and last move.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projection_tracking") as table:
        table.add_column(sa.Column("moved_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        table.add_column(sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("held_tenants", sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.create_table(
        "projection_parked_events",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("position", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("tenant", sa.String(128), nullable=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("aggregate_id", sa.String(64), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("last_retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", "generation", "position", name="pk_projection_parked_events"),
    )
    op.create_table(
        "projection_held_tenants",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", "generation", "tenant", name="pk_projection_held_tenants"),
    )


def downgrade() -> None:
    op.drop_table("projection_held_tenants")
    op.drop_table("projection_parked_events")
    with op.batch_alter_table("projection_tracking") as table:
        table.drop_column("held_tenants")
        table.drop_column("last_error_at")
        table.drop_column("last_error")
        table.drop_column("moved_at")
