"""A retried Idempotency-Key gets the first answer again: its status, its body (position included)
and `Idempotent-Replayed: true`. A redelivered message without the key stays a 200 duplicate.

Trial (issue 8): a replay answered the receipt's result with `position: null`, and its status was
the route's guess (intake answered 200 to any replay, the first answer having been 201).
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import random_ref
from tests.e2e.api import message

pytestmark = pytest.mark.e2e

REPLAYED = "Idempotent-Replayed"


def policy() -> dict[str, Any]:
    return {"name": random_ref("policy-"), "rank": 1, "match": {"priorities": ["urgent"]},
            "targets": {"first_reply_minutes": 30}, "calendar": {"kind": "24x7"}}


def new_ticket() -> dict[str, Any]:
    return {"subject": "Refund", "customer": {"email": random_ref("buyer-") + "@example.com"}}


CREATING_ROUTES = {
    "POST /v1/tickets": ("/v1/tickets", new_ticket),
    "POST /v1/inbound-messages": ("/v1/inbound-messages", message),
    "POST /v1/sla-policies": ("/v1/sla-policies", policy),
}


def twice(client, path: str, body: dict[str, Any], key: str) -> tuple[Any, Any]:
    first = client.post(path, json=body, headers={"Idempotency-Key": key})
    again = client.post(path, json=body, headers={"Idempotency-Key": key})
    return first, again


@pytest.mark.parametrize("route", CREATING_ROUTES)
def test_a_creating_command_retried_with_its_key_replays_the_first_201(client, route):
    path, body = CREATING_ROUTES[route]

    first, again = twice(client, path, body(), random_ref("idem-"))

    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert first.json()["position"] is not None
    assert again.json() == first.json()
    assert again.headers[REPLAYED] == "true" and REPLAYED not in first.headers


def test_a_ticket_command_retried_with_its_key_replays_the_first_200(client):
    ticket_id = client.post("/v1/inbound-messages", json=message()).json()["ticket_id"]

    first, again = twice(client, f"/v1/tickets/{ticket_id}/replies", {"text": "on its way"}, random_ref("idem-"))

    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert again.json() == first.json() and again.json()["position"] is not None
    assert again.headers[REPLAYED] == "true" and REPLAYED not in first.headers


def test_the_replayed_position_is_the_first_answers_even_after_later_commands(client):
    key = random_ref("idem-")
    first = client.post("/v1/tickets", json=(body := new_ticket()), headers={"Idempotency-Key": key})
    client.post(f"/v1/tickets/{first.json()['ticket_id']}/notes", json={"text": "later"})

    again = client.post("/v1/tickets", json=body, headers={"Idempotency-Key": key})

    assert again.json()["position"] == first.json()["position"]
    assert again.json()["version"] == first.json()["version"]


def test_a_redelivered_message_without_a_key_stays_a_200_duplicate_without_position(client):
    body = message()
    first = client.post("/v1/inbound-messages", json=body)

    again = client.post("/v1/inbound-messages", json=body)

    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["position"] is None
    assert again.json()["ticket_id"] == first.json()["ticket_id"]
    assert REPLAYED not in again.headers


def test_a_redelivered_message_under_another_key_is_a_duplicate_not_a_replay(client):
    body = message()
    first = client.post("/v1/inbound-messages", json=body, headers={"Idempotency-Key": random_ref("idem-")})

    again = client.post("/v1/inbound-messages", json=body, headers={"Idempotency-Key": random_ref("idem-")})

    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["position"] is None
    assert REPLAYED not in again.headers
