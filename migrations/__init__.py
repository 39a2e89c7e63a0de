"""Alembic migrations for the tables ledgerdesk owns (the event tables belong to eventsourcing).

Each read model's tables come in their own revision on top of the tracking tables' one, so
`upgrade` goes to every head.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

# Any fixed 64-bit key, the same in every process: it names "migrating ledgerdesk's tables".
MIGRATION_LOCK_KEY = 0x1ED6E7D6


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    return config


@cache
def _heads() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def upgrade(engine: Engine) -> None:
    """Brings the read-model tables to the latest revision; safe when processes start together.

    A database already at every head is left alone without running alembic's environment and
    revision files (tens of milliseconds for each read store a process opens)."""
    with engine.connect() as conn:
        if frozenset(MigrationContext.configure(conn).get_current_heads()) == _heads():
            return
    config = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = conn
        command.upgrade(config, "heads")
