"""The mail quarantine read model: quarantined mail per tenant, held or released (no raw bytes).

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quarantined_mail",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("quarantine_id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("customer_id", sa.String(36), nullable=True),
        sa.Column("conversation_id", sa.String(36), nullable=True),
        sa.Column("ticket_id", sa.String(36), nullable=True),
        sa.Column("message_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("generation", "quarantine_id", name="pk_quarantined_mail"),
    )
    op.create_index(
        "ix_quarantined_mail_generation_tenant_position", "quarantined_mail", ["generation", "tenant", "position"]
    )


def downgrade() -> None:
    op.drop_index("ix_quarantined_mail_generation_tenant_position", table_name="quarantined_mail")
    op.drop_table("quarantined_mail")
