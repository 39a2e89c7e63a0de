"""Work queues over HTTP: /v1/inbox and /v1/inbox/counts, read from the inbox read model."""
from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledgerdesk.projections.projector import Projector
from tests.conftest import Keys, random_ref
from tests.e2e.api import command, is_problem

pytestmark = pytest.mark.e2e


def open_ticket(client: TestClient, **over: Any) -> str:
    body: dict[str, Any] = {"subject": "Where is my parcel?", "customer": {"email": f"{random_ref()}@example.com"}}
    body.update(over)
    response = client.post("/v1/tickets", json=body)
    assert response.status_code == 201, response.text
    return response.json()["ticket_id"]


def inbox(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/inbox", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def walk(client: TestClient, **params: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page = inbox(client, **params, **({"cursor": cursor} if cursor else {}))
        seen += [row["ticket_id"] for row in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


def test_views_filters_and_pages(client: TestClient, projector: Projector) -> None:
    # The tenant's only policy covers phone tickets: these are not measured, so they sort by priority and age.
    phone_only = {"name": "Phone only", "match": {"channels": ["phone"]}, "targets": {"first_reply_minutes": 10}}
    assert client.post("/v1/sla-policies", json=phone_only).status_code == 201
    urgent = open_ticket(client, priority="urgent", channel="email", tags=["vip"])
    high = open_ticket(client, priority="high", channel="taobao", category="refund")
    normal = open_ticket(client, channel="email")
    low = open_ticket(client, priority="low", channel="wechat", tags=["vip", "later"])
    assert command(client, high, "assignment", {"agent_id": "ada", "team_id": "refunds"}).status_code == 200
    assert command(client, low, "assignment", {"team_id": "refunds"}).status_code == 200
    solved = open_ticket(client)
    assert command(client, solved, "status", {"status": "solved"}).status_code == 200
    projector.catch_up()

    page = inbox(client)
    assert [row["ticket_id"] for row in page["items"]] == [urgent, high, normal, low]
    assert page["next_cursor"] is None
    first = page["items"][0]
    assert first["priority"] == "urgent" and first["channel"] == "email" and first["tags"] == ["vip"]
    assert first["assignee"] is None and first["status"] == "new"
    assert first["sla"]["state"] is None and first["sla"]["breached"] is False

    assert walk(client, limit=1) == [urgent, high, normal, low]
    assert walk(client, view="unassigned") == [urgent, normal, low]
    assert walk(client, view="agent:ada") == [high]
    assert walk(client, view="team:refunds") == [high, low]
    assert walk(client, status="solved") == [solved]
    assert walk(client, status=["solved", "new"]) == [urgent, high, normal, solved, low]
    assert walk(client, channel=["email", "wechat"]) == [urgent, normal, low]
    assert walk(client, tag="vip", priority="low") == [low]
    assert walk(client, category="refund") == [high]


def test_counts_per_view(client: TestClient, projector: Projector) -> None:
    mine = open_ticket(client)
    assert command(client, mine, "assignment", {"agent_id": "ada", "team_id": "refunds"}).status_code == 200
    waiting = open_ticket(client)
    assert command(client, waiting, "status", {"status": "pending"}).status_code == 200
    done = open_ticket(client)
    assert command(client, done, "status", {"status": "solved"}).status_code == 200
    projector.catch_up()

    response = client.get("/v1/inbox/counts")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "all": 2,
        "unassigned": 1,
        "agents": {"ada": 1},
        "teams": {"refunds": 1},
        "by_status": {"new": 1, "open": 0, "pending": 1, "on_hold": 0},
        "breached": 0,
    }


def test_a_tenant_sees_only_its_own_tickets(client: TestClient, projector: Projector, keys: Keys) -> None:
    open_ticket(client)
    projector.catch_up()
    client.headers["Authorization"] = f"Bearer {keys.other}"
    assert inbox(client)["items"] == []
    assert client.get("/v1/inbox/counts").json()["all"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "done"}, "status"),
        ({"status": ["open", "nope"]}, "status"),
        ({"priority": "p1"}, "priority"),
        ({"channel": "fax"}, "channel"),
        ({"category": "misc"}, "category"),
        ({"tag": "two words"}, "tag"),
        ({"language": "en us"}, "language"),
        ({"view": "mine"}, "view"),
        ({"view": "agent:"}, "view"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_bad_queries_are_422_naming_the_field(client: TestClient, params: dict[str, Any], field: str) -> None:
    response = client.get("/v1/inbox", params=params)
    assert is_problem(response, 422, field), response.text


def test_an_auditor_reads_the_inbox_too(client: TestClient, projector: Projector, keys: Keys) -> None:
    ticket = open_ticket(client)
    projector.catch_up()
    client.headers["Authorization"] = f"Bearer {keys.auditor}"
    assert [row["ticket_id"] for row in inbox(client)["items"]] == [ticket]
