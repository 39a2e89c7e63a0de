"""As-of reads over HTTP: tickets, conversations, customers and SLA clocks as they stood then."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledgerdesk.projections.projector import Projector
from tests.conftest import Keys, SteppingClock, random_ref
from tests.e2e.api import command, history, inbound, is_problem, ticket

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 11, 11, 2, 0, tzinfo=timezone.utc)


def at(moment: str, seconds: float = 0) -> str:
    return (datetime.fromisoformat(moment) + timedelta(seconds=seconds)).isoformat()


def get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_ticket_as_of_each_event_is_the_ticket_as_it_was_then(client: TestClient) -> None:
    ticket_id = inbound(client)["ticket_id"]
    first = ticket(client, ticket_id)
    assert command(client, ticket_id, "priority", {"priority": "high"}).status_code == 200
    raised = ticket(client, ticket_id)
    assert command(client, ticket_id, "tags", {"add": ["vip"]}).status_code == 200
    now = ticket(client, ticket_id)
    events = history(client, ticket_id)

    then = get(client, f"/v1/tickets/{ticket_id}", as_of=first["updated_at"])
    assert then == {**first, "as_of": first["updated_at"]}
    assert get(client, f"/v1/tickets/{ticket_id}", as_of=at(raised["updated_at"], 0.5)) == {
        **raised, "as_of": at(raised["updated_at"], 0.5)}
    assert get(client, f"/v1/tickets/{ticket_id}", version=raised["version"]) == {**raised, "as_of": None}
    assert get(client, f"/v1/tickets/{ticket_id}", version=1)["status"] == "new"
    assert get(client, f"/v1/tickets/{ticket_id}", as_of=at(now["updated_at"], 0.5))["version"] == now["version"]
    assert get(client, f"/v1/tickets/{ticket_id}", as_of=events[-1]["occurred_at"].replace("+00:00", "Z"))["tags"] == ["vip"]


def test_every_as_of_reader_refuses_an_instant_after_now_naming_as_of(
        client: TestClient, projector: Projector, clock: SteppingClock, keys: Keys) -> None:
    """Hostile run: GET /v1/tickets/{id}?as_of=9999-… answered today's ticket as the state then,
    while /v1/cases refused a future as_of. A moment after now has no state yet: one rule
    (moments.not_after_now) for tickets, conversations, customers, SLA clocks and case files."""
    client.headers["Authorization"] = f"Bearer {keys.admin}"  # a role that may read every one of them
    define_policy(client)
    taken = inbound(client)
    found = ticket(client, taken["ticket_id"])
    projector.catch_up()
    readers = [(f"/v1/tickets/{taken['ticket_id']}", {}), (f"/v1/conversations/{taken['conversation_id']}", {}),
               (f"/v1/customers/{taken['customer_id']}", {}), (f"/v1/tickets/{taken['ticket_id']}/sla", {}),
               ("/v1/cases", {"ticket_id": taken["ticket_id"]}), ("/v1/cases.html", {"ticket_id": taken["ticket_id"]})]
    for path, params in readers:
        an_hour_on = (clock.now + timedelta(hours=1)).isoformat()
        for future in (an_hour_on, "2099-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00"):
            refused = client.get(path, params={**params, "as_of": future})
            assert is_problem(refused, 422, "as_of"), (path, future, refused.text)
        assert "after now" in client.get(path, params={**params, "as_of": an_hour_on}).json()["detail"], path
        assert client.get(path, params={**params, "as_of": found["updated_at"]}).status_code == 200, path


def test_a_ticket_before_it_existed_or_past_its_latest_version_is_404_naming_the_parameter(client: TestClient) -> None:
    ticket_id = inbound(client)["ticket_id"]
    created = ticket(client, ticket_id)["created_at"]
    for as_of in (at(created, -0.000001), "0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00Z"):
        response = client.get(f"/v1/tickets/{ticket_id}", params={"as_of": as_of})
        assert is_problem(response, 404, "as_of"), (as_of, response.text)
        assert "did not exist yet" in response.json()["detail"]
    assert is_problem(client.get(f"/v1/tickets/{ticket_id}", params={"version": 99}), 404, "version")


@pytest.mark.parametrize("params, field", [
    ({"as_of": "2026-11-11T10:00:00"}, "as_of"),  # naive
    ({"as_of": "2026-11-11"}, "as_of"),
    ({"as_of": "2026-02-30T10:00:00Z"}, "as_of"),
    ({"as_of": "2026-11-11T10:00:00+25:00"}, "as_of"),
    ({"as_of": "2026-11-11T10:00:00\x00Z"}, "as_of"),
    ({"as_of": "x" * 65}, "as_of"),
    ({"as_of": "2026-11-11T10:00:00Z", "version": "1"}, "as_of"),
    ({"version": str(2**64)}, "version"),
    ({"version": "0"}, "version"),
    ({"version": "1.0"}, "version"),
    ({"version": "\x00"}, "version"),
])
def test_hostile_as_of_and_version_are_422_naming_the_field(client: TestClient, params: dict[str, str], field: str) -> None:
    ticket_id = inbound(client)["ticket_id"]
    for path in (f"/v1/tickets/{ticket_id}", f"/v1/customers/{ticket(client, ticket_id)['customer_id']}"):
        response = client.get(path, params=params)
        assert is_problem(response, 422, field), (path, params, response.text)
    unknown = client.get("/v1/tickets/00000000-0000-4000-8000-000000000000", params=params)
    assert is_problem(unknown, 404, "ticket_id")  # an unknown id is a 404 before anything else


def test_a_customer_as_of_before_a_merge_is_each_customer_as_it_was(client: TestClient) -> None:
    email, phone = f"{random_ref()}@example.com", "+8613800138000"
    first = inbound(client, channel="email", external_user_id=email, customer={"email": email})
    second = inbound(client, channel="wechat", external_user_id=random_ref("wx-"), customer={"phone": phone})
    before = {cid: get(client, f"/v1/customers/{cid}") for cid in (first["customer_id"], second["customer_id"])}
    inbound(client, channel="jd", external_user_id=random_ref("jd-"), customer={"email": email, "phone": phone})
    survivor_id = first["customer_id"] if before[first["customer_id"]]["created_at"] <= before[second["customer_id"]]["created_at"] \
        else second["customer_id"]
    merged_id = second["customer_id"] if survivor_id == first["customer_id"] else first["customer_id"]
    after = get(client, f"/v1/customers/{merged_id}")
    assert after["merged_into"] == survivor_id

    moment = max(c["created_at"] for c in before.values())
    for cid in (survivor_id, merged_id):
        assert get(client, f"/v1/customers/{cid}", as_of=moment) == {**before[cid], "as_of": moment}
    assert get(client, f"/v1/customers/{merged_id}", as_of=moment)["merged_into"] is None
    other_identities = {i["value"] for i in before[merged_id]["identities"]}
    assert not other_identities & {i["value"] for i in get(client, f"/v1/customers/{survivor_id}", as_of=moment)["identities"]}
    assert other_identities <= {i["value"] for i in get(client, f"/v1/customers/{survivor_id}")["identities"]}


def test_a_conversation_as_of_a_version_and_its_history(client: TestClient) -> None:
    thread = random_ref("thread-")
    first = inbound(client, external_thread_id=thread)
    inbound(client, external_thread_id=thread)
    conversation = f"/v1/conversations/{first['conversation_id']}"
    assert get(client, conversation)["inbound_count"] == 2
    assert get(client, conversation, version=2)["inbound_count"] == 1
    page = get(client, conversation + "/history")
    assert [e["type"] for e in page["items"]][:2] == ["Conversation.Started", "Conversation.InboundMessageReceived"]
    # One command's events share its time: as of it, the thread has started with its first message.
    assert get(client, conversation, as_of=page["items"][0]["occurred_at"])["inbound_count"] == 1


# -- SLA clocks as of an instant ------------------------------------------------------------------


def define_policy(client: TestClient, **over: Any) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {"name": "Standard", "rank": 10, "targets": {"first_reply_minutes": 60, "resolution_minutes": 480}}
    body.update(over)
    response = client.post("/v1/sla-policies", json=body)
    assert response.status_code == 201, response.text
    return response.json()["sla_policy_id"], body


def open_ticket(client: TestClient) -> str:
    body = {"subject": "Where is my parcel?", "channel": "email", "customer": {"email": f"{random_ref()}@example.com"}}
    response = client.post("/v1/tickets", json=body)
    assert response.status_code == 201, response.text
    return response.json()["ticket_id"]


def live_sla_at(client: TestClient, clock: SteppingClock, ticket_id: str, moment: datetime) -> dict[str, Any]:
    clock.now = moment - timedelta(seconds=1)  # the read's own clock reading steps to `moment`
    return get(client, f"/v1/tickets/{ticket_id}/sla")


def test_sla_as_of_now_equals_the_read_model_and_earlier_is_under_the_policy_then(
        client: TestClient, projector: Projector, clock: SteppingClock) -> None:
    policy, terms = define_policy(client)
    clock.now = T0 - timedelta(seconds=1)
    ticket_id = open_ticket(client)  # opened at T0
    clock.now = T0 + timedelta(minutes=30)
    assert client.put(f"/v1/sla-policies/{policy}", json={**terms, "name": "Standard, revised",
                                                            "targets": {"first_reply_minutes": 5}}).status_code == 200
    clock.now = T0 + timedelta(minutes=40)
    assert command(client, ticket_id, "priority", {"priority": "high"}).status_code == 200  # re-targeted: version 2
    clock.now = T0 + timedelta(minutes=50)
    assert command(client, ticket_id, "replies", {"text": "On its way"}).status_code == 200
    projector.catch_up()

    now = T0 + timedelta(hours=3)
    live = live_sla_at(client, clock, ticket_id, now)
    assert get(client, f"/v1/tickets/{ticket_id}/sla", as_of=now.isoformat()) == {**live, "as_of": now.isoformat()}
    assert live["policy"] == {"id": policy, "version": 2, "name": "Standard, revised"}

    early = get(client, f"/v1/tickets/{ticket_id}/sla", as_of=(T0 + timedelta(minutes=35)).isoformat())
    assert early["policy"] == {"id": policy, "version": 1, "name": "Standard, revised"}  # the name then: revised at 30'
    clocks = {c["metric"]: c for c in early["clocks"]}
    assert set(clocks) == {"first_reply", "resolution"}
    assert clocks["first_reply"]["state"] == "active" and clocks["first_reply"]["due_at"] == (T0 + timedelta(hours=1)).isoformat()
    first_reply_after = {c["metric"]: c for c in live["clocks"]}["first_reply"]
    assert first_reply_after["state"] == "breached" and first_reply_after["stopped_at"] is not None


def test_sla_as_of_before_the_ticket_or_out_of_range_is_refused_naming_as_of(client: TestClient, projector: Projector) -> None:
    ticket_id = open_ticket(client)
    projector.catch_up()
    created = ticket(client, ticket_id)["created_at"]
    sla = f"/v1/tickets/{ticket_id}/sla"
    assert is_problem(client.get(sla, params={"as_of": at(created, -1)}), 404, "as_of")
    assert is_problem(client.get(sla, params={"as_of": "0001-01-01T00:00:00+14:00"}), 404, "as_of")
    assert is_problem(client.get(sla, params={"as_of": "9999-12-31T23:59:59-01:00"}), 422, "as_of")
    assert is_problem(client.get(sla, params={"as_of": "2026-11-11T10:00:00"}), 422, "as_of")
    assert is_problem(client.get(sla, params={"version": "1"}), 422, "version")  # not a parameter of this route
    assert get(client, sla, as_of=at(created))["clocks"]
