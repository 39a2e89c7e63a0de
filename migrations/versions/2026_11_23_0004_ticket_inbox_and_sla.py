"""The ticket inbox read model: its tickets, their tags and the views' counts, and the SLA it
keeps for them (policies, customers' tiers, each ticket's SLA state and its clocks).

Index names follow the naming convention (ix_<table>_<columns>); op.f marks them as already
converted, so where a name is longer than the database allows (PostgreSQL: 63) it is shortened
exactly as the convention shortens the model's own, with a hash suffix.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

SORT = ["due_sort", "priority_rank", "opened_ms", "ticket_id"]


def _instant(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _index_name(table: str, columns: list[str]) -> str:
    return op.f(f"ix_{table}_{'_'.join(columns)}")


def upgrade() -> None:
    op.create_table(
        "inbox_tickets",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("language", sa.String(35), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("priority_rank", sa.SmallInteger(), nullable=False),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("assignee", sa.String(128), nullable=False),
        sa.Column("team", sa.String(128), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        _instant("opened_at", nullable=False),
        _instant("updated_at", nullable=False),
        _instant("last_customer_message_at"),
        sa.Column("reply_count", sa.Integer(), nullable=False),
        sa.Column("sla_policy_id", sa.String(36), nullable=True),
        sa.Column("sla_policy_version", sa.Integer(), nullable=True),
        _instant("next_due_at"),
        sa.Column("due_sort", sa.BigInteger(), nullable=False),
        _instant("breach_at"),
        sa.Column("sla_clocks", sa.JSON(), nullable=True),
        sa.Column("opened_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("generation", "ticket_id", name="pk_inbox_tickets"),
    )
    for columns in (
        ["generation", "tenant", *SORT],
        ["generation", "tenant", "assignee", *SORT],
        ["generation", "tenant", "team", *SORT],
        ["generation", "tenant", "breach_at", "status"],
    ):
        op.create_index(_index_name("inbox_tickets", columns), "inbox_tickets", columns)

    op.create_table(
        "inbox_counts",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(128), nullable=False),
        sa.Column("team", sa.String(128), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("generation", "tenant", "status", "assignee", "team", name="pk_inbox_counts"),
    )

    op.create_table(
        "inbox_ticket_tags",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("generation", "ticket_id", "tag", name="pk_inbox_ticket_tags"),
    )
    op.create_index(
        _index_name("inbox_ticket_tags", ["generation", "tag", "ticket_id"]),
        "inbox_ticket_tags",
        ["generation", "tag", "ticket_id"],
    )

    op.create_table(
        "sla_policies",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        _instant("defined_at", nullable=False),
        _instant("updated_at", nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("generation", "policy_id", name="pk_sla_policies"),
    )
    op.create_index(_index_name("sla_policies", ["generation", "tenant"]), "sla_policies", ["generation", "tenant"])

    op.create_table(
        "inbox_customers",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("tier", sa.String(40), nullable=True),
        sa.Column("merged_into", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("generation", "customer_id", name="pk_inbox_customers"),
    )

    op.create_table(
        "sla_tickets",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("policy_id", sa.String(36), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("generation", "ticket_id", name="pk_sla_tickets"),
    )

    op.create_table(
        "sla_clocks",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("target_seconds", sa.Integer(), nullable=False),
        _instant("started_at", nullable=False),
        _instant("due_at"),
        _instant("warning_at"),
        _instant("stopped_at"),
        _instant("breached_at"),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("elapsed_seconds", sa.Float(), nullable=False, server_default=sa.text("0")),
        _instant("running_since"),
        sa.PrimaryKeyConstraint("generation", "ticket_id", "metric", "cycle", name="pk_sla_clocks"),
    )
    for columns in (["generation", "tenant", "stopped_at"], ["generation", "tenant", "due_at"]):
        op.create_index(_index_name("sla_clocks", columns), "sla_clocks", columns)


def downgrade() -> None:
    for table in ("sla_clocks", "sla_tickets", "inbox_customers", "sla_policies", "inbox_counts", "inbox_ticket_tags", "inbox_tickets"):
        op.drop_table(table)
