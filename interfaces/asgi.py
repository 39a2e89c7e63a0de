"""An ASGI factory for running several API processes: `uvicorn --factory ledgerdesk.interfaces.asgi:create --workers 4`."""
from __future__ import annotations

from fastapi import FastAPI

from ledgerdesk.projections.follower import Follower

from .bootstrap import build_ledger, build_projector, build_read_store, ensure_dev_key, tune_garbage_collector
from .http.app import create_app
from .settings import Settings


def create() -> FastAPI:
    settings, _ = ensure_dev_key(Settings())
    ledger = build_ledger(settings)
    read_store = build_read_store(settings)
    follower = (
        Follower(build_projector(ledger, read_store), fallback_wake_seconds=settings.projection_fallback_wake_seconds)
        if settings.projections == "inline"
        else None
    )
    app = create_app(ledger, settings.api_keys, settings.worker_threads, read_store=read_store, follower=follower)
    tune_garbage_collector()
    return app
