"""An ASGI factory for running several API processes: `uvicorn --factory ledgerdesk.interfaces.asgi:create --workers 4`."""
from __future__ import annotations

from fastapi import FastAPI

from .bootstrap import build_ledger, ensure_dev_key, tune_garbage_collector
from .http.app import create_app
from .settings import Settings


def create() -> FastAPI:
    settings, _ = ensure_dev_key(Settings())
    app = create_app(build_ledger(settings), settings.api_keys, settings.worker_threads)
    tune_garbage_collector()
    return app
