"""A small API client for the end-to-end tests: the calls an integrator makes, with sane defaults."""
from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import random_ref


def message(**over: Any) -> dict[str, Any]:
    body = {
        "channel": "taobao",
        "external_thread_id": random_ref("thread-"),
        "external_user_id": random_ref("buyer-"),
        "external_message_id": random_ref("msg-"),
        "text": "我的订单还没发货，请尽快处理",
        "sent_at": "2026-11-11T00:05:00+08:00",
    }
    body.update(over)
    return body


def inbound(client: TestClient, **over: Any) -> dict[str, Any]:
    response = client.post("/v1/inbound-messages", json=message(**over))
    assert response.status_code == 201, response.text
    return response.json()


def ticket(client: TestClient, ticket_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/tickets/{ticket_id}")
    assert response.status_code == 200, response.text
    return response.json()


def history(client: TestClient, ticket_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/tickets/{ticket_id}/history", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def command(client: TestClient, ticket_id: str, verb: str, body: dict[str, Any], **kwargs: Any) -> Any:
    return client.post(f"/v1/tickets/{ticket_id}/{verb}", json=body, **kwargs)


def is_problem(response: Any, status: int, field: str | None = None) -> bool:
    body = response.json()
    return (
        response.status_code == status
        and response.headers["content-type"].startswith("application/problem+json")
        and body["status"] == status
        and (field is None or body.get("field") == field)
    )
