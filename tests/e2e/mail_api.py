"""Helpers for the mail tests: post a raw email, and serve the API with keys a test chooses (admins too)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from ledgerdesk.application.ledger import Ledger
from ledgerdesk.interfaces.bootstrap import Runtime, build_projector
from ledgerdesk.interfaces.http.app import create_app
from ledgerdesk.interfaces.settings import ApiKey, Settings
from ledgerdesk.projections.follower import Follower
from ledgerdesk.projections.store import ReadStore

EMAIL_INBOUND = "/v1/channels/email/inbound"
QUARANTINE = "/v1/mail/quarantine"


def post_email(client: TestClient, raw: bytes, headers: dict[str, str] | None = None) -> Any:
    return client.post(EMAIL_INBOUND, content=raw, headers={"Content-Type": "message/rfc822", **(headers or {})})


def as_key(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@contextmanager
def serving(ledger: Ledger, read_store: ReadStore, keys: dict[str, ApiKey]) -> Iterator[TestClient]:
    """The API as `serve` runs it (read models followed in-process), with these keys and no default one."""
    follower = Follower(build_projector(ledger, read_store))
    runtime = Runtime(Settings(api_keys=keys), ledger, ledger.clock, read_store, build_projector(ledger, read_store), follower)
    app = create_app(runtime)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
