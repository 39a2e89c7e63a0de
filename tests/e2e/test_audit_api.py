"""GET /v1/audit/verify: one of the tenant's streams checked, for auditors and admins only."""
from __future__ import annotations

from uuid import uuid4

import pytest

from tests.e2e.api import command, inbound, is_problem, message

pytestmark = pytest.mark.e2e


def as_key(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_an_auditor_gets_the_verification_of_a_ticket_of_its_tenant(client, keys) -> None:  # type: ignore[no-untyped-def]
    ticket_id = inbound(client)["ticket_id"]
    assert command(client, ticket_id, "notes", {"text": "courier called"}).status_code == 200

    for key in (keys.auditor, keys.admin):
        response = client.get("/v1/audit/verify", params={"stream": ticket_id}, headers=as_key(key))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["stream_id"] == ticket_id and body["verified"] is True and body["breaks"] == []
        assert body["events"] == body["head_version"] == 3 and len(body["head_hash"]) == 64
        assert "checkpoint" in body and body["unsealed_events"] == 0


def test_integrators_and_agents_may_not_verify(client, keys) -> None:  # type: ignore[no-untyped-def]
    ticket_id = inbound(client)["ticket_id"]
    for key in (keys.integrator, keys.agent):
        response = client.get("/v1/audit/verify", params={"stream": ticket_id}, headers=as_key(key))
        assert is_problem(response, 403, "Authorization"), response.text


def test_another_tenants_stream_or_an_unknown_one_is_not_found(client, keys) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/v1/inbound-messages", json=message(), headers=as_key(keys.other))
    assert response.status_code == 201, response.text
    theirs = response.json()["ticket_id"]
    for stream in (theirs, str(uuid4())):
        response = client.get("/v1/audit/verify", params={"stream": stream}, headers=as_key(keys.auditor))
        assert is_problem(response, 404, "stream"), response.text


@pytest.mark.parametrize("stream", ["not-a-uuid", "f" * 30_000, "", "00000000-0000-0000-0000-00000000000g"])
def test_a_forged_stream_is_a_422_naming_it(client, keys, stream) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/v1/audit/verify", params={"stream": stream}, headers=as_key(keys.auditor))
    assert is_problem(response, 422, "stream"), response.text[:300]


def test_the_verification_is_in_the_openapi_document(client) -> None:  # type: ignore[no-untyped-def]
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/v1/audit/verify"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/StreamVerification"}
    assert {"403", "404", "422"} <= set(operation["responses"])
    fields = document["components"]["schemas"]["StreamVerification"]["properties"]
    assert {"stream_id", "events", "head_version", "head_hash", "verified", "breaks", "checkpoint"} <= set(fields)
