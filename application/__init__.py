"""The ledgerdesk application: eventsourcing applications, command handlers, queries and ports.

May import the domain; must not import interfaces (HTTP, CLI, brokers) — see the import-linter
contract in pyproject.toml.
"""
