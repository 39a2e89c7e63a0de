"""Alembic migrations for the tables ledgerdesk owns (the event tables belong to eventsourcing).

Each read model's tables come in their own revision on top of the tracking tables' one, so
`upgrade` goes to every head.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

# Any fixed 64-bit key, the same in every process: it names "migrating ledgerdesk's tables".
MIGRATION_LOCK_KEY = 0x1ED6E7D6


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    return config


def upgrade(engine: Engine) -> None:
    """Brings the read-model tables to the latest revision; safe when processes start together."""
    config = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = conn
        command.upgrade(config, "heads")
