"""Alembic migrations for the tables ledgerdesk owns (the event tables belong to eventsourcing)."""
