"""The teams defined (name, escalation team), beside the agents who are their members.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("team_key", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("team", sa.String(128), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("escalation_team", sa.String(128), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("generation", "team_key", name="pk_teams"),
    )
    op.create_index("ix_teams_generation_tenant_team", "teams", ["generation", "tenant", "team"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_teams_generation_tenant_team", table_name="teams")
    op.drop_table("teams")
