"""Errors are problem details naming the field; no key, no answer; tenants never see each other."""
import uuid

import pytest

from tests.e2e.api import command, inbound, is_problem

pytestmark = pytest.mark.e2e


def test_no_key_or_a_wrong_key_gets_401_even_with_a_broken_body(client):
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer nope"}):
        response = client.post("/v1/inbound-messages", content=b"{broken", headers=headers)
        assert is_problem(response, 401), response.text


def test_broken_json_is_a_400_problem(client):
    response = client.post("/v1/inbound-messages", content=b"{not json", headers={"Content-Type": "application/json"})
    assert is_problem(response, 400, "body")


def test_an_unknown_enum_value_is_a_422_naming_the_field(client):
    opened = inbound(client)
    response = command(client, opened["ticket_id"], "priority", {"priority": "sky-high"})
    assert is_problem(response, 422, "priority")
    assert "urgent" in response.json()["detail"]


def test_an_unknown_ticket_is_a_404_problem(client):
    assert is_problem(client.get(f"/v1/tickets/{uuid.uuid4()}"), 404)
    assert is_problem(client.get("/v1/tickets/not-a-uuid"), 422, "ticket_id")
    assert is_problem(command(client, str(uuid.uuid4()), "notes", {"text": "hi"}), 404, "ticket_id")


def test_another_tenants_ticket_does_not_exist_for_you(client, keys):
    opened = inbound(client)
    other = {"Authorization": f"Bearer {keys.other}"}
    assert is_problem(client.get(f"/v1/tickets/{opened['ticket_id']}", headers=other), 404)
    assert is_problem(client.get(f"/v1/tickets/{opened['ticket_id']}/history", headers=other), 404)
    assert is_problem(command(client, opened["ticket_id"], "notes", {"text": "x"}, headers=other), 404)
    feed = client.get("/v1/events", params={"after": 0, "limit": 1000}, headers=other).json()
    assert opened["ticket_id"] not in str(feed)


def test_an_auditor_reads_but_does_not_command(client, keys):
    opened = inbound(client)
    auditor = {"Authorization": f"Bearer {keys.auditor}"}
    assert client.get(f"/v1/tickets/{opened['ticket_id']}/history", headers=auditor).status_code == 200
    assert is_problem(command(client, opened["ticket_id"], "notes", {"text": "x"}, headers=auditor), 403)


def test_the_openapi_document_describes_the_commands(client):
    spec = client.get("/openapi.json").json()
    assert "/v1/inbound-messages" in spec["paths"] and "/v1/tickets/{ticket_id}/rating" in spec["paths"]
