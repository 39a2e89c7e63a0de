"""The FastAPI application, built from a ready Runtime (interfaces/bootstrap.py)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI, Security
from fastapi.openapi.utils import get_openapi

from ledgerdesk.interfaces.bootstrap import Runtime

from . import (
    problems,
    routes_access_log,
    routes_agents,
    routes_analytics,
    routes_audit,
    routes_cases,
    routes_customers,
    routes_events,
    routes_health,
    routes_inbox,
    routes_intake,
    routes_projections,
    routes_quarantine,
    routes_sla,
    routes_sla_policies,
    routes_teams,
    routes_tickets,
    routes_timeline,
    routes_triage_rules,
)
from .auth import ApiKeyAuth
from .body_limit import BodyLimit
from .deps import bearer, checked_query_and_headers
from .read_model_position import ReadModelPositionHeader
from .read_only import ReadOnly

API_ROUTERS = (
    # Order matters where paths overlap: /v1/customers/lookup before /v1/customers/{id}.
    routes_intake, routes_tickets, routes_timeline, routes_customers, routes_sla_policies,
    routes_inbox, routes_sla, routes_analytics, routes_projections, routes_events, routes_quarantine,
    routes_agents, routes_teams, routes_triage_rules, routes_audit, routes_access_log, routes_cases,
)


def create_app(runtime: Runtime) -> FastAPI:
    """The API over `runtime`; its follower, if any, follows the log while the app serves."""
    settings = runtime.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Commands run in the thread pool. Past a few threads they only queue for the GIL,
        # and a thread that holds the database's write lock then waits for the GIL as well.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="ledgerdesk",
        version="0.1.0",
        description="Event-sourced ticketing core for omnichannel customer support. "
        "Authenticate with `Authorization: Bearer <key>`; send `Idempotency-Key` to make a command safe to retry. "
        "Errors are RFC 9457 problems (`application/problem+json`) naming the `field` at fault.",
    )
    app.state.runtime = runtime
    problems.install(app)
    checks = [Security(bearer), Depends(checked_query_and_headers)]
    for module in API_ROUTERS:
        app.include_router(module.router, dependencies=checks, responses=problems.problem_responses(401))
    app.include_router(routes_health.router, dependencies=[Depends(checked_query_and_headers)])
    app.include_router(routes_cases.pages)  # the page shell and its script: no data, no key, no query read
    app.add_middleware(ReadModelPositionHeader)
    app.add_middleware(BodyLimit, json_bytes=settings.max_json_body_bytes, email_bytes=settings.max_email_body_bytes)
    if settings.read_only:
        app.add_middleware(ReadOnly)
    app.add_middleware(ApiKeyAuth, keys=settings.api_keys)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with problem answers under their own media type, as the server sends them."""
    if app.openapi_schema is None:
        document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path in document["paths"].values():
            for operation in path.values():
                for code, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {})
                    # Under whichever media type FastAPI put it (a route answering HTML puts its
                    # problems under text/html): problems are application/problem+json.
                    for media in list(content):
                        if code[0] in "45" and content[media].get("schema", {}).get("$ref", "").endswith("/Problem"):
                            content[problems.MEDIA_TYPE] = content.pop(media)
        app.openapi_schema = document
    return app.openapi_schema
