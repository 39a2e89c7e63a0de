"""Projection bookkeeping: each read model's active generation and each generation's log position.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projection_generations",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("active_generation", sa.Integer(), nullable=False),
        sa.Column("building_generation", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_projection_generations"),
    )
    op.create_table(
        "projection_tracking",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", "generation", name="pk_projection_tracking"),
    )


def downgrade() -> None:
    op.drop_table("projection_tracking")
    op.drop_table("projection_generations")
