"""Intake over HTTP: customers, conversations and tickets from channel messages."""
import pytest

from tests.conftest import random_ref
from tests.e2e.api import history, inbound, is_problem, message, ticket

pytestmark = pytest.mark.e2e


def test_a_first_message_opens_a_ticket_for_a_new_customer(client):
    answer = inbound(client, order_id="TB-1001")

    t = ticket(client, answer["ticket_id"])
    assert t["status"] == "new"
    assert t["customer_id"] == answer["customer_id"]
    assert t["order_ids"] == ["TB-1001"]
    assert t["conversation_ids"] == [answer["conversation_id"]]
    assert answer["duplicate"] is False


def test_a_redelivered_webhook_appends_nothing(client):
    body = message()
    first = client.post("/v1/inbound-messages", json=body)
    events_before = len(history(client, first.json()["ticket_id"]))

    again = client.post("/v1/inbound-messages", json=body)

    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["ticket_id"] == first.json()["ticket_id"]
    assert len(history(client, first.json()["ticket_id"])) == events_before


def test_the_same_email_on_another_channel_is_the_same_customer(client):
    email = random_ref("buyer-") + "@example.com"
    taobao = inbound(client, customer={"email": email.upper(), "name": "李雷"})

    mail = inbound(client, channel="email", external_user_id=email, customer={"email": email}, text="Where is my parcel?")

    assert mail["customer_id"] == taobao["customer_id"]
    assert mail["ticket_id"] != taobao["ticket_id"]
    customer = client.get(f"/v1/customers/{taobao['customer_id']}").json()
    kinds = sorted((i["kind"], i["channel"] or "") for i in customer["identities"])
    assert kinds == [("channel_user", "email"), ("channel_user", "taobao"), ("email", "")]
    assert customer["display_name"] == "李雷"


def test_a_phone_in_national_form_matches_its_e164_form(client):
    first = inbound(client, customer={"phone": "+86 138 0013 8000"})
    second = inbound(client, channel="wechat", customer={"phone": "13800138000"})
    assert second["customer_id"] == first["customer_id"]


def test_a_message_naming_two_known_customers_merges_them(client):
    email = random_ref("m-") + "@example.com"
    by_email = inbound(client, channel="email", customer={"email": email})
    by_phone = inbound(client, channel="wechat", customer={"phone": "+8613900139000"}, external_user_id=random_ref("wx-"))
    assert by_email["customer_id"] != by_phone["customer_id"]

    both = inbound(client, channel="app", customer={"email": email, "phone": "13900139000"})

    survivor = client.get(f"/v1/customers/{both['customer_id']}").json()
    merged_id = ({by_email["customer_id"], by_phone["customer_id"]} - {both["customer_id"]}).pop()
    merged = client.get(f"/v1/customers/{merged_id}").json()
    assert merged["merged_into"] == both["customer_id"]
    assert survivor["merged_customer_ids"] == [merged_id]
    assert {"email", "phone"} <= {i["kind"] for i in survivor["identities"]}


def test_the_next_message_in_a_thread_joins_its_unsolved_ticket(client):
    first = inbound(client)
    thread = client.get(f"/v1/conversations/{first['conversation_id']}").json()["external_thread_id"]
    second = inbound(client, external_thread_id=thread, text="还在吗？")

    assert second["ticket_id"] == first["ticket_id"]
    assert second["conversation_id"] == first["conversation_id"]


def test_a_customer_reply_reopens_a_solved_ticket_and_a_closed_one_gets_a_follow_up(client):
    first = inbound(client)
    thread = client.get(f"/v1/conversations/{first['conversation_id']}").json()["external_thread_id"]
    client.post(f"/v1/tickets/{first['ticket_id']}/status", json={"status": "solved"})

    inbound(client, external_thread_id=thread, text="还是没收到")
    reopened = ticket(client, first["ticket_id"])
    assert reopened["status"] == "open"
    reopen = history(client, first["ticket_id"])[-1]
    assert reopen["type"] == "Ticket.StatusChanged"
    assert reopen["causation_id"] == history(client, first["ticket_id"])[-2]["id"]

    client.post(f"/v1/tickets/{first['ticket_id']}/status", json={"status": "solved"})
    client.post(f"/v1/tickets/{first['ticket_id']}/status", json={"status": "closed"})
    follow_up = inbound(client, external_thread_id=thread, text="又出问题了")
    assert follow_up["ticket_id"] != first["ticket_id"]
    assert follow_up["conversation_id"] == first["conversation_id"]


def test_attachments_only_message_is_accepted(client):
    answer = inbound(client, text="", attachments=[{"name": "photo.jpg", "content_type": "image/jpeg", "size": 2048}])
    events = client.get("/v1/events", params={"after": 0, "limit": 1000}).json()["items"]
    received = [e for e in events if e["type"] == "Conversation.InboundMessageReceived" and e["aggregate_id"] == answer["conversation_id"]]
    assert received[0]["data"]["attachments"] == [{"name": "photo.jpg", "content_type": "image/jpeg", "size": 2048}]


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"channel": "carrier-pigeon"}, "channel"),
        ({"sent_at": "yesterday"}, "sent_at"),
        ({"sent_at": "2026-11-11T00:05:00"}, "sent_at"),
        ({"external_message_id": ""}, "external_message_id"),
        ({"customer": {"email": "not-an-email"}}, "customer.email"),
        ({"customer": {"phone": "12"}}, "customer.phone"),
        ({"text": ""}, "text"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_input_is_a_422_problem_naming_the_field_and_stores_nothing(client, over, field):
    head_before = client.get("/v1/events", params={"after": 0}).json()["head"]

    response = client.post("/v1/inbound-messages", json=message(**over))

    assert is_problem(response, 422, field), response.text
    assert client.get("/v1/events", params={"after": 0}).json()["head"] == head_before


def test_a_closed_conversation_opens_again_when_the_customer_writes(client):
    first = inbound(client)
    conversation = f"/v1/conversations/{first['conversation_id']}"
    closed = client.post(f"{conversation}/close", json={"reason": "chat session ended"})
    assert closed.status_code == 200 and closed.json()["closed"] is True

    inbound(client, external_thread_id=client.get(conversation).json()["external_thread_id"], text="还有一个问题")

    assert client.get(conversation).json()["closed"] is False


@pytest.mark.parametrize(
    ("text", "language"),
    [("我的订单还没发货，请尽快处理", "zh"), ("注文した商品がまだ届きません", "ja"), ("El jersey del pedido llegó roto", "es"), ("ok", None)],
)
def test_a_new_ticket_records_the_language_of_the_customers_first_words(client, text, language):
    answer = inbound(client, text=text)

    assert ticket(client, answer["ticket_id"])["language"] == language
