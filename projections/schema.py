"""Tables every read model shares: which generation of it is live, and how far each generation has read.

A read model's rows carry a `generation` column. A rebuild fills a new generation beside the
live one and then switches, so queries never see a half-built read model.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table

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
)


def generation_column() -> Column:
    """The first primary-key column of every read-model table."""
    return Column("generation", Integer, primary_key=True, autoincrement=False)
