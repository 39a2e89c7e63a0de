"""Ticket commands over HTTP: each appends its fact with audit metadata, once."""
import uuid

import pytest

from tests.conftest import random_ref
from tests.e2e.api import command, history, inbound, is_problem, ticket

pytestmark = pytest.mark.e2e


@pytest.fixture
def opened(client):
    return inbound(client)


def test_an_agent_reply_opens_a_new_ticket_and_reaches_the_conversation(client, keys, opened):
    response = command(client, opened["ticket_id"], "replies", {"text": "您好，已为您催促发货"},
                       headers={"Authorization": f"Bearer {keys.agent}"})

    assert response.status_code == 200
    assert ticket(client, opened["ticket_id"])["status"] == "open"
    reply = next(e for e in history(client, opened["ticket_id"]) if e["type"] == "Ticket.ReplySent")
    assert reply["actor"] == {"kind": "agent", "id": "agent-ada"}
    assert reply["data"]["text"] == "您好，已为您催促发货"
    conversation = client.get(f"/v1/conversations/{opened['conversation_id']}").json()
    assert conversation["outbound_count"] == 1


def test_every_command_answers_the_new_version(client, opened):
    tid = opened["ticket_id"]
    steps = [
        ("notes", {"text": "buyer is VIP, handle with care"}),
        ("assignment", {"agent_id": "agent-7", "team_id": "logistics"}),
        ("priority", {"priority": "urgent"}),
        ("category", {"category": "logistics"}),
        ("tags", {"add": ["Double11", "late"], "remove": []}),
        ("orders", {"order_id": "JD-42"}),
        ("status", {"status": "pending"}),
    ]
    version = ticket(client, tid)["version"]
    for verb, body in steps:
        response = command(client, tid, verb, body)
        assert response.status_code == 200, (verb, response.text)
        assert response.json()["version"] == version + 1, verb
        version += 1

    t = ticket(client, tid)
    assert (t["assignee_id"], t["team_id"], t["priority"], t["category"]) == ("agent-7", "logistics", "urgent", "logistics")
    assert t["tags"] == ["double11", "late"] and t["order_ids"] == ["JD-42"] and t["status"] == "pending"


def test_unassign_and_transfer_to_a_team(client, opened):
    tid = opened["ticket_id"]
    command(client, tid, "assignment", {"agent_id": "agent-7"})
    assert client.delete(f"/v1/tickets/{tid}/assignment").status_code == 200
    assert ticket(client, tid)["assignee_id"] is None
    command(client, tid, "assignment", {"agent_id": "agent-8", "team_id": "refunds"})
    command(client, tid, "assignment", {"team_id": "vip-desk"})
    t = ticket(client, tid)
    assert (t["assignee_id"], t["team_id"]) == (None, "vip-desk")


def test_a_retried_command_returns_the_first_answer_and_appends_nothing(client, opened):
    tid, key = opened["ticket_id"], random_ref("idem-")
    first = command(client, tid, "replies", {"text": "on its way"}, headers={"Idempotency-Key": key})
    events = len(history(client, tid))

    again = command(client, tid, "replies", {"text": "on its way"}, headers={"Idempotency-Key": key})

    assert again.status_code == 200
    assert again.json()["version"] == first.json()["version"]
    assert len(history(client, tid)) == events


def test_a_reused_idempotency_key_for_another_command_is_a_409(client, opened):
    key = random_ref("idem-")
    command(client, opened["ticket_id"], "replies", {"text": "one"}, headers={"Idempotency-Key": key})
    response = command(client, opened["ticket_id"], "replies", {"text": "two"}, headers={"Idempotency-Key": key})
    assert is_problem(response, 409, "Idempotency-Key")


def test_a_stale_expected_version_is_a_409_and_the_current_one_is_accepted(client, opened):
    tid = opened["ticket_id"]
    seen = ticket(client, tid)["version"]
    command(client, tid, "notes", {"text": "someone else was quicker"})

    stale = command(client, tid, "priority", {"priority": "high", "expected_version": seen})
    current = command(client, tid, "priority", {"priority": "high", "expected_version": seen + 1})

    assert is_problem(stale, 409, "expected_version")
    assert current.status_code == 200 and current.json()["version"] == seen + 2


def test_rating_needs_a_solved_ticket(client, opened):
    tid = opened["ticket_id"]
    assert is_problem(command(client, tid, "rating", {"score": 5}), 409, "score")
    command(client, tid, "status", {"status": "solved"})
    assert command(client, tid, "rating", {"score": 4, "comment": "很快"}).status_code == 200
    assert ticket(client, tid)["rating"] == {"score": 4, "comment": "很快"}
    assert is_problem(command(client, tid, "rating", {"score": 6}), 422, "score")


def test_closed_is_final(client, opened):
    tid = opened["ticket_id"]
    command(client, tid, "status", {"status": "solved"})
    command(client, tid, "status", {"status": "closed"})
    for verb, body in [("status", {"status": "open"}), ("replies", {"text": "hello?"}), ("priority", {"priority": "low"})]:
        assert is_problem(command(client, tid, verb, body), 409), verb


def test_merging_moves_the_conversation_to_the_target(client, opened):
    other = inbound(client)
    response = command(client, opened["ticket_id"], "merge", {"into_ticket_id": other["ticket_id"]})

    assert response.status_code == 200
    source, target = ticket(client, opened["ticket_id"]), ticket(client, other["ticket_id"])
    assert source["merged_into"] == other["ticket_id"] and source["status"] == "closed"
    assert target["merged_ticket_ids"] == [opened["ticket_id"]]
    assert opened["conversation_id"] in target["conversation_ids"]
    thread = client.get(f"/v1/conversations/{opened['conversation_id']}").json()
    assert thread["ticket_id"] == other["ticket_id"]
    follow = inbound(client, external_thread_id=thread["external_thread_id"], text="再问一次")
    assert follow["ticket_id"] == other["ticket_id"]


def test_open_a_ticket_directly_for_a_known_or_new_customer(client):
    response = client.post("/v1/tickets", json={"subject": "Phone call: refund for JD-7", "channel": "phone",
                                                "customer": {"phone": "+8613700137000"}, "priority": "high",
                                                "tags": ["callback"], "order_id": "JD-7"})
    assert response.status_code == 201, response.text
    t = ticket(client, response.json()["ticket_id"])
    assert (t["channel"], t["priority"], t["tags"], t["order_ids"]) == ("phone", "high", ["callback"], ["JD-7"])

    again = client.post("/v1/tickets", json={"subject": "Second call", "customer_id": t["customer_id"]})
    assert ticket(client, again.json()["ticket_id"])["customer_id"] == t["customer_id"]

    unknown = client.post("/v1/tickets", json={"subject": "x", "customer_id": str(uuid.uuid4())})
    assert is_problem(unknown, 404, "customer_id")


def test_history_pages_carry_the_audit_metadata(client, opened):
    tid = opened["ticket_id"]
    for n in range(5):
        command(client, tid, "notes", {"text": f"note {n}", "reason": "checking"}, headers={"X-Correlation-Id": "case-77"})
    page = client.get(f"/v1/tickets/{tid}/history", params={"limit": 3}).json()
    rest = client.get(f"/v1/tickets/{tid}/history", params={"after_version": page["next_after_version"], "limit": 100}).json()

    versions = [e["version"] for e in page["items"] + rest["items"]]
    assert versions == list(range(1, len(versions) + 1))
    last = rest["items"][-1]
    assert last["correlation_id"] == "case-77" and last["reason"] == "checking"
    assert last["actor"] == {"kind": "integrator", "id": "shop-connector"}
    assert rest["next_after_version"] is None
