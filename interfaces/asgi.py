"""An ASGI factory for running several API processes: `uvicorn --factory ledgerdesk.interfaces.asgi:create --workers 4`."""
from __future__ import annotations

from fastapi import FastAPI

from .bootstrap import build_runtime, ensure_dev_key, tune_garbage_collector
from .http.app import create_app
from .preflight import check_database, load_settings


def create() -> FastAPI:
    settings = load_settings()
    check_database(settings)
    settings, _ = ensure_dev_key(settings)
    app = create_app(build_runtime(settings))
    tune_garbage_collector()
    return app
