"""The timeline's order links, indexed: a case file finds every ticket that linked an order.

Revision ID: 0011
Revises: 0002 (the timeline's)
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0002"
branch_labels = None
depends_on = None

ORDER_LINKED = sa.text("kind = 'order_linked'")


def upgrade() -> None:
    # Partial: only order links are looked up by their detail ({"order_id": ...}); rows already
    # there are indexed at once, so no rebuild is needed.
    op.create_index("ix_timeline_entries_order_links", "timeline_entries", ["generation", "detail"],
                    sqlite_where=ORDER_LINKED, postgresql_where=ORDER_LINKED)


def downgrade() -> None:
    op.drop_index("ix_timeline_entries_order_links", table_name="timeline_entries")
