"""A ticket's SLA clocks and the tenant's SLA policies over HTTP, read from the inbox read model."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from ledgerdesk.projections.projector import Projector
from tests.conftest import Keys, SteppingClock, random_ref
from tests.e2e.api import command, is_problem

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 11, 11, 2, 0, tzinfo=timezone.utc)


def define_policy(client: TestClient, **over: Any) -> str:
    body: dict[str, Any] = {"name": "Standard", "rank": 10, "targets": {"first_reply_minutes": 60, "resolution_minutes": 480}}
    body.update(over)
    response = client.post("/v1/sla-policies", json=body)
    assert response.status_code == 201, response.text
    return response.json()["sla_policy_id"]


def open_ticket(client: TestClient, **over: Any) -> str:
    body: dict[str, Any] = {"subject": "Where is my parcel?", "channel": "email", "customer": {"email": f"{random_ref()}@example.com"}}
    body.update(over)
    response = client.post("/v1/tickets", json=body)
    assert response.status_code == 201, response.text
    return response.json()["ticket_id"]


def sla_of(client: TestClient, ticket_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/tickets/{ticket_id}/sla")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_tickets_clocks_are_judged_at_the_time_of_the_request(client: TestClient, projector: Projector, clock: SteppingClock) -> None:
    policy = define_policy(client)
    clock.now = T0 - timedelta(seconds=1)
    ticket = open_ticket(client)
    projector.catch_up()

    clock.now = T0 + timedelta(minutes=10)
    found = sla_of(client, ticket)
    assert found["ticket_id"] == ticket
    assert found["policy"] == {"id": policy, "version": 1, "name": "Standard"}
    clocks = {c["metric"]: c for c in found["clocks"]}
    assert set(clocks) == {"first_reply", "resolution"}
    assert clocks["first_reply"]["state"] == "active" and clocks["first_reply"]["due_at"] == (T0 + timedelta(hours=1)).isoformat()
    assert clocks["resolution"]["due_at"] == (T0 + timedelta(hours=8)).isoformat()
    row = client.get("/v1/inbox").json()["items"][0]
    assert row["ticket_id"] == ticket and row["sla"]["state"] == "active"
    assert row["sla"]["next_due_at"] == (T0 + timedelta(hours=1)).isoformat()

    clock.now = T0 + timedelta(hours=2)
    clocks = {c["metric"]: c for c in sla_of(client, ticket)["clocks"]}
    assert clocks["first_reply"]["state"] == "breached" and clocks["resolution"]["state"] == "active"
    row = client.get("/v1/inbox").json()["items"][0]
    assert row["sla"]["state"] == "breached" and row["sla"]["breached"] is True
    assert client.get("/v1/inbox/counts").json()["breached"] == 1

    assert command(client, ticket, "replies", {"text": "On its way"}).status_code == 200
    projector.catch_up()
    clocks = {c["metric"]: c for c in sla_of(client, ticket)["clocks"]}
    assert clocks["first_reply"]["state"] == "breached" and clocks["first_reply"]["stopped_at"] is not None
    assert client.get("/v1/inbox/counts").json()["breached"] == 0


def test_a_ticket_no_policy_matches_has_no_clocks(client: TestClient, projector: Projector) -> None:
    define_policy(client, match={"channels": ["taobao"]})
    ticket = open_ticket(client)
    projector.catch_up()
    assert sla_of(client, ticket) == {"ticket_id": ticket, "policy": None, "clocks": []}


def test_unknown_and_other_tenants_tickets_are_404(client: TestClient, projector: Projector, keys: Keys) -> None:
    ticket = open_ticket(client)
    projector.catch_up()
    response = client.get(f"/v1/tickets/{uuid4()}/sla")
    assert is_problem(response, 404, "ticket_id"), response.text
    client.headers["Authorization"] = f"Bearer {keys.other}"
    assert is_problem(client.get(f"/v1/tickets/{ticket}/sla"), 404, "ticket_id")
    assert is_problem(client.get("/v1/tickets/not-a-uuid/sla"), 422, "ticket_id")


def test_the_policy_list_shows_the_tenants_active_policies_in_order(client: TestClient, projector: Projector, keys: Keys) -> None:
    standard = define_policy(client)
    vip = define_policy(client, name="VIP", rank=0, match={"customer_tiers": ["vip"]}, targets={"first_reply_minutes": 10})
    old = define_policy(client, name="Old", rank=5)
    assert client.delete(f"/v1/sla-policies/{old}").status_code == 200
    projector.catch_up()

    response = client.get("/v1/sla-policies")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [p["id"] for p in items] == [vip, standard]
    assert items[0]["targets"]["first_reply_minutes"] == 10 and items[0]["targets"]["resolution_minutes"] is None
    # The same shape as one policy's own view.
    one = client.get(f"/v1/sla-policies/{standard}").json()
    assert {k: v for k, v in items[1].items() if k not in ("defined_at", "updated_at")} == {
        k: v for k, v in one.items() if k not in ("defined_at", "updated_at")
    }
    client.headers["Authorization"] = f"Bearer {keys.other}"
    assert client.get("/v1/sla-policies").json() == {"items": []}
