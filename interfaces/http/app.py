"""The FastAPI application, built from a ready Ledger and the configured API keys."""
from __future__ import annotations

from fastapi import FastAPI

from ledgerdesk.application.ledger import Ledger
from ledgerdesk.interfaces.settings import ApiKey

from . import problems, routes_customers, routes_events, routes_intake, routes_tickets
from .auth import ApiKeyAuth


def create_app(ledger: Ledger, api_keys: dict[str, ApiKey]) -> FastAPI:
    app = FastAPI(
        title="ledgerdesk",
        version="0.1.0",
        description="Event-sourced ticketing core for omnichannel customer support. "
        "Authenticate with `Authorization: Bearer <key>`; send `Idempotency-Key` to make a command safe to retry.",
    )
    app.state.ledger = ledger
    problems.install(app)
    for module in (routes_intake, routes_tickets, routes_customers, routes_events):
        app.include_router(module.router)
    app.add_middleware(ApiKeyAuth, keys=api_keys)
    return app
