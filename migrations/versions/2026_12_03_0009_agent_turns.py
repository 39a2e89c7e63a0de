"""Each agent's count of tickets ever taken, so routing weighs only the agents next in turn.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Counted from the log: a read model rebuilt after this migration has it right; until then 0.
    op.add_column("agents", sa.Column("taken_total", sa.Integer(), nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    op.drop_column("agents", "taken_total")
