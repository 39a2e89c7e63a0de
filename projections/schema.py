"""Tables every read model shares: which generation of it is live, and how far each generation has read.

A read model's rows carry a `generation` column. A rebuild fills a new generation beside the
live one and then switches, so queries never see a half-built read model.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, ColumnElement, DateTime, Integer, MetaData, String, Table, Text, or_, text

# Stable constraint names keep alembic's view of the schema and the real one alike.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

projection_generations = Table(
    "projection_generations",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("active_generation", Integer, nullable=False),
    # Set while a rebuild fills a new generation beside the active one.
    Column("building_generation", Integer, nullable=True),
)

projection_tracking = Table(
    "projection_tracking",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("generation", Integer, primary_key=True),
    # The last log position applied to this generation, written in the same transaction as its rows.
    Column("position", BigInteger, nullable=False),
    # When the position last moved, and the last failure that was no event's fault (the database
    # unreachable, a lock timed out): status tells a stalled or failing read model by them.
    Column("moved_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_error_at", DateTime(timezone=True), nullable=True),
    # How many tenants are held (projection_held_tenants), so a batch asks which only when some are.
    Column("held_tenants", Integer, nullable=False, server_default=text("0")),
)

# Events a generation of a read model could not apply: parked, with the error, for an operator
# to see and retry (parking.py). The rest of the log goes on.
projection_parked_events = Table(
    "projection_parked_events",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant", String(128), nullable=True),  # None: the event could not even be read
    Column("event_type", String(200), nullable=False),
    Column("aggregate_id", String(64), nullable=False),
    Column("error", Text, nullable=False),
    Column("parked_at", DateTime(timezone=True), nullable=False),
    Column("retries", Integer, nullable=False, server_default=text("0")),
    Column("last_retry_at", DateTime(timezone=True), nullable=True),
)

# A tenant whose event a read model parked: its later events wait (from `since` on) so that a
# retry applies them in log order and the tenant's rows come out as a rebuild's. Every read
# model's rows belong to one tenant each, so the other tenants go on.
projection_held_tenants = Table(
    "projection_held_tenants",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("tenant", String(128), primary_key=True),
    Column("since", BigInteger, nullable=False),
)


def generation_column() -> Column:
    """The first primary-key column of every read-model table."""
    return Column("generation", Integer, primary_key=True, autoincrement=False)


def other_generations(table: Table, keep: int) -> ColumnElement[bool]:
    """Rows of every generation but `keep`, as two ranges of the primary key's first column: for a
    `!=` SQLite reads the whole table (16k rows: 16 ms), for the ranges only the rows they match."""
    return or_(table.c.generation < keep, table.c.generation > keep)
