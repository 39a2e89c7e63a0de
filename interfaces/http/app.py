"""The FastAPI application, built from a ready Ledger and the configured API keys."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from ledgerdesk.application.ledger import Ledger
from ledgerdesk.interfaces.bootstrap import build_projector
from ledgerdesk.interfaces.settings import ApiKey
from ledgerdesk.projections.follower import Follower
from ledgerdesk.projections.store import ReadStore

from . import (
    problems,
    routes_analytics,
    routes_customers,
    routes_events,
    routes_inbox,
    routes_intake,
    routes_projections,
    routes_quarantine,
    routes_sla,
    routes_sla_policies,
    routes_tickets,
    routes_timeline,
)
from .auth import ApiKeyAuth
from .read_model_position import ReadModelPositionHeader


def create_app(
    ledger: Ledger,
    api_keys: dict[str, ApiKey],
    worker_threads: int = 4,
    read_store: ReadStore | None = None,
    follower: Follower | None = None,
) -> FastAPI:
    """`follower`, when given, runs the projections in this process while it serves (embedded mode)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Commands run in the thread pool. Past a few threads they only queue for the GIL,
        # and a thread that holds the database's write lock then waits for the GIL as well.
        anyio.to_thread.current_default_thread_limiter().total_tokens = worker_threads
        if follower is not None:
            ledger.on_appended.append(follower.wake)
            follower.start()
        try:
            yield
        finally:
            if follower is not None:
                follower.stop()
                ledger.on_appended.remove(follower.wake)

    app = FastAPI(
        lifespan=lifespan,
        title="ledgerdesk",
        version="0.1.0",
        description="Event-sourced ticketing core for omnichannel customer support. "
        "Authenticate with `Authorization: Bearer <key>`; send `Idempotency-Key` to make a command safe to retry.",
    )
    app.state.ledger = ledger
    app.state.read_store = read_store
    app.state.projector = build_projector(ledger, read_store) if read_store is not None else None
    problems.install(app)
    # Order matters where paths overlap: /v1/customers/lookup before /v1/customers/{id}.
    routers = (
        routes_intake, routes_tickets, routes_timeline, routes_customers, routes_sla_policies,
        routes_inbox, routes_sla, routes_analytics, routes_projections, routes_events, routes_quarantine,
    )
    for module in routers:
        app.include_router(module.router)
    app.add_middleware(ReadModelPositionHeader)
    app.add_middleware(ApiKeyAuth, keys=api_keys)
    return app
