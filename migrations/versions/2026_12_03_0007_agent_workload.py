"""The agents' workload read model: agents (profile, presence, capacity, slots held), their teams,
each live ticket's assignee and status, and each agent's open tickets.

Revision ID: 0007
Revises: 0001
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("agent_key", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("teams", sa.JSON(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("presence", sa.String(16), nullable=False),
        sa.Column("presence_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_slots", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("generation", "agent_key", name="pk_agents"),
    )
    op.create_index("ix_agents_generation_tenant_agent_id", "agents", ["generation", "tenant", "agent_id"], unique=True)
    op.create_table(
        "agent_teams",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("team", sa.String(128), nullable=False),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("generation", "tenant", "team", "agent_id", name="pk_agent_teams"),
    )
    op.create_table(
        "workload_tickets",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("assignee", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("generation", "ticket_id", name="pk_workload_tickets"),
    )
    op.create_table(
        "agent_tickets",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("generation", "tenant", "agent_id", "ticket_id", name="pk_agent_tickets"),
    )


def downgrade() -> None:
    op.drop_table("agent_tickets")
    op.drop_table("workload_tickets")
    op.drop_table("agent_teams")
    op.drop_index("ix_agents_generation_tenant_agent_id", table_name="agents")
    op.drop_table("agents")
