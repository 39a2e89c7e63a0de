"""The edges of ledgerdesk: HTTP API, CLI, settings and wiring. Thin: translate, authorise, delegate."""
