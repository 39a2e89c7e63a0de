"""An ASGI factory for running several API processes: `uvicorn --factory ledgerdesk.interfaces.asgi:create --workers 4`."""
from __future__ import annotations

from fastapi import FastAPI

from .bootstrap import build_follower, build_ledger, build_read_store, ensure_dev_key, tune_garbage_collector
from .http.app import create_app
from .settings import Settings


def create() -> FastAPI:
    settings, _ = ensure_dev_key(Settings())
    ledger = build_ledger(settings)
    read_store = build_read_store(settings)
    follower = build_follower(settings, ledger, read_store)
    app = create_app(ledger, settings.api_keys, settings.worker_threads, read_store=read_store, follower=follower)
    tune_garbage_collector()
    return app
