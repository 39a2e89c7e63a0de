"""The FastAPI application, built from a ready Ledger and the configured API keys."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from ledgerdesk.application.ledger import Ledger
from ledgerdesk.interfaces.settings import ApiKey

from . import problems, routes_customers, routes_events, routes_intake, routes_tickets
from . import routes_sla_policies
from . import routes_timeline
from . import routes_analytics
from . import routes_inbox
from .auth import ApiKeyAuth


def create_app(ledger: Ledger, api_keys: dict[str, ApiKey], worker_threads: int = 4) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Commands run in the thread pool. Past a few threads they only queue for the GIL,
        # and a thread that holds the database's write lock then waits for the GIL as well.
        anyio.to_thread.current_default_thread_limiter().total_tokens = worker_threads
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="ledgerdesk",
        version="0.1.0",
        description="Event-sourced ticketing core for omnichannel customer support. "
        "Authenticate with `Authorization: Bearer <key>`; send `Idempotency-Key` to make a command safe to retry.",
    )
    app.state.ledger = ledger
    problems.install(app)
    for module in (routes_intake, routes_tickets, routes_timeline, routes_customers, routes_events, routes_analytics):
        app.include_router(module.router)
    app.include_router(routes_sla_policies.router)
    app.include_router(routes_inbox.router)
    app.add_middleware(ApiKeyAuth, keys=api_keys)
    return app
