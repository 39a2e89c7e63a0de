"""A customer's timeline and lookup by identity, over HTTP, read from the timeline read model."""
from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from ledgerdesk.application.ledger import Ledger
from ledgerdesk.interfaces.http.app import create_app
from ledgerdesk.projections.projector import Projector
from ledgerdesk.projections.store import ReadStore
from tests.conftest import Keys, random_ref, runtime_of
from tests.e2e.api import command, inbound, is_problem

pytestmark = pytest.mark.e2e


@pytest.fixture
def api(settings, ledger: Ledger, keys: Keys, read_store: ReadStore) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    app = create_app(runtime_of(settings, ledger, keys, read_store))
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {keys.integrator}"
        yield c


def timeline(api: TestClient, customer_id: str, **params: object) -> dict:
    response = api.get(f"/v1/customers/{customer_id}/timeline", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_timeline_pages_through_a_customers_channels(api: TestClient, projector: Projector, keys: Keys) -> None:
    email = random_ref("buyer-") + "@example.com"
    first = inbound(api, channel="email", external_user_id=email, customer={"email": email}, text="Where is my parcel?")
    second = inbound(api, channel="wechat", customer={"email": email.upper()}, text="还没到")
    api.headers["Authorization"] = f"Bearer {keys.agent}"
    assert command(api, first["ticket_id"], "replies", {"text": "On its way!"}).status_code in (200, 201)
    assert command(api, first["ticket_id"], "notes", {"text": "internal only"}).status_code in (200, 201)
    projector.catch_up()

    whole = timeline(api, first["customer_id"])
    items, cursor = [], None
    while True:
        page = timeline(api, first["customer_id"], limit=2, **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) <= 2
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert items == whole["items"]
    assert whole["customer_id"] == second["customer_id"] == first["customer_id"]
    assert whole["merged_customer_ids"] == [] and whole["next_cursor"] is None
    messages = [(i["kind"], i["channel"], i["text"]) for i in items if i["kind"].startswith("message")]
    assert messages == [
        ("message_in", "email", "Where is my parcel?"),
        ("message_in", "wechat", "还没到"),
        ("message_out", "email", "On its way!"),
    ]
    assert "ticket_opened" in {i["kind"] for i in items}
    assert all(i["text"] != "internal only" for i in items)
    api.headers["Authorization"] = f"Bearer {keys.auditor}"
    assert timeline(api, first["customer_id"])["items"] == whole["items"]


def test_a_merged_customers_timeline_is_the_survivors(api: TestClient, projector: Projector) -> None:
    email = random_ref("m-") + "@example.com"
    by_email = inbound(api, channel="email", customer={"email": email})
    by_phone = inbound(api, channel="wechat", customer={"phone": "+8613900139000"})
    inbound(api, channel="app", customer={"email": email, "phone": "13900139000"})
    projector.catch_up()

    merged_away = timeline(api, by_phone["customer_id"])

    assert merged_away == timeline(api, by_email["customer_id"])
    assert merged_away["customer_id"] == by_email["customer_id"]
    assert merged_away["merged_customer_ids"] == [by_phone["customer_id"]]
    assert [i["channel"] for i in merged_away["items"] if i["kind"] == "message_in"] == ["email", "wechat", "app"]


def test_timeline_problems(api: TestClient, projector: Projector, keys: Keys) -> None:
    mine = inbound(api)
    projector.catch_up()

    unknown = api.get(f"/v1/customers/{uuid4()}/timeline")
    assert is_problem(unknown, 404, "customer_id")
    api.headers["Authorization"] = f"Bearer {keys.other}"
    assert is_problem(api.get(f"/v1/customers/{mine['customer_id']}/timeline"), 404, "customer_id")
    api.headers["Authorization"] = f"Bearer {keys.integrator}"
    assert is_problem(api.get("/v1/customers/not-a-uuid/timeline"), 422, "customer_id")
    assert is_problem(api.get(f"/v1/customers/{mine['customer_id']}/timeline", params={"limit": 0}), 422, "limit")
    assert is_problem(api.get(f"/v1/customers/{mine['customer_id']}/timeline", params={"limit": 501}), 422, "limit")
    assert is_problem(api.get(f"/v1/customers/{mine['customer_id']}/timeline", params={"cursor": "bogus"}), 422, "cursor")
    assert timeline(api, mine["customer_id"], limit=500)["items"]


def test_lookup_finds_the_surviving_customer_by_any_identity(api: TestClient, projector: Projector, keys: Keys) -> None:
    email = random_ref("l-") + "@example.com"
    user = random_ref("wa-")
    by_email = inbound(api, channel="email", external_user_id=email, customer={"email": email, "name": "Lucía", "tier": "vip"})
    by_phone = inbound(api, channel="whatsapp", external_user_id=user, customer={"phone": "+8613800138000"})
    inbound(api, channel="app", customer={"email": email, "phone": "138 0013 8000"})
    projector.catch_up()

    for params in (
        {"email": email.upper()},
        {"phone": "13800138000"},
        {"phone": "+86 138 0013 8000"},
        {"channel": "whatsapp", "external_user_id": user},
        {"channel": "email", "external_user_id": email},
    ):
        response = api.get("/v1/customers/lookup", params=params)
        assert response.status_code == 200, (params, response.text)
        assert response.json() == {
            "customer_id": by_email["customer_id"],
            "display_name": "Lucía",
            "tier": "vip",
            "registered_at": response.json()["registered_at"],
            "merged_customer_ids": [by_phone["customer_id"]],
        }
    # The customer route beside it still answers by id.
    assert api.get(f"/v1/customers/{by_email['customer_id']}").status_code == 200

    assert is_problem(api.get("/v1/customers/lookup", params={"email": "nobody@example.com"}), 404, "email")
    assert is_problem(api.get("/v1/customers/lookup", params={"channel": "wechat", "external_user_id": user}), 404, "channel")
    api.headers["Authorization"] = f"Bearer {keys.other}"
    assert is_problem(api.get("/v1/customers/lookup", params={"email": email}), 404, "email")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "email"),
        ({"email": "a@example.com", "phone": "+8613800138000"}, "phone"),
        ({"email": "a@example.com", "channel": "jd", "external_user_id": "x"}, "channel"),
        ({"channel": "jd"}, "external_user_id"),
        ({"external_user_id": "x"}, "channel"),
        ({"channel": "carrier-pigeon", "external_user_id": "x"}, "channel"),
        ({"email": "not an email"}, "email"),
        ({"email": ""}, "email"),
        ({"phone": "12345"}, "phone"),
        ({"channel": "jd", "external_user_id": "   "}, "external_user_id"),
    ],
)
def test_lookup_takes_exactly_one_valid_identity(api: TestClient, params: dict, field: str) -> None:
    assert is_problem(api.get("/v1/customers/lookup", params=params), 422, field)


def test_without_a_read_store_the_read_model_routes_say_so(settings, ledger: Ledger, keys: Keys) -> None:  # type: ignore[no-untyped-def]
    app = create_app(runtime_of(settings, ledger, keys))
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {keys.integrator}"
        assert is_problem(c.get(f"/v1/customers/{uuid4()}/timeline"), 404)
        assert is_problem(c.get("/v1/customers/lookup", params={"email": "a@example.com"}), 404)
