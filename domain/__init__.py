"""The ledgerdesk domain: aggregates, events, value objects and pure decision rules.

Pure Python on eventsourcing's domain module. Must not import application, projections,
interfaces, or any I/O framework (checked by the import-linter contract in pyproject.toml).
"""
