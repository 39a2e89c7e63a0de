"""LEDGERDESK_READ_ONLY: an API process that serves read models as they stand takes no command."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ledgerdesk.interfaces.bootstrap import build_runtime
from ledgerdesk.interfaces.http.app import create_app
from tests.conftest import Keys
from tests.e2e.api import is_problem, message

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_read_only_api_refuses_commands_with_405_and_starts_no_projector(settings, keys: Keys) -> None:  # type: ignore[no-untyped-def]
    runtime = build_runtime(settings.model_copy(update={"read_only": True, "projections": "inline",
                                                        "api_keys": keys.config()}))
    assert runtime.follower is None
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {keys.integrator}"
        refused = client.post("/v1/inbound-messages", json=message())
        assert is_problem(refused, 405) and refused.headers["allow"] == "GET, HEAD"
        assert client.get("/v1/inbox").status_code == 200
        assert client.get("/v1/events").json()["head"] == 0
        assert client.post("/v1/inbound-messages", json=message(), headers={"Authorization": "Bearer nope"}).status_code == 401
    runtime.ledger.close()
