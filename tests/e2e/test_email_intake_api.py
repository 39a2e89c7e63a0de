"""Raw RFC 5322 email over HTTP: threaded, decoded, deduplicated, tied to the sender."""
import base64

import pytest

from tests.conftest import random_ref
from tests.e2e.api import history, inbound, is_problem

pytestmark = pytest.mark.e2e


def raw_email(message_id, sender="buyer@example.com", in_reply_to=None, subject="=?utf-8?B?" +
              base64.b64encode("订单问题".encode()).decode() + "?=", body="包裹还没到。".encode("gb2312"), extra=""):
    headers = [f"From: =?utf-8?B?{base64.b64encode('李雷'.encode()).decode()}?= <{sender}>",
               "To: support@shop.example", f"Subject: {subject}", f"Message-ID: <{message_id}>",
               "Date: Wed, 11 Nov 2026 09:30:00 +0800", "MIME-Version: 1.0"]
    if in_reply_to:
        headers += [f"In-Reply-To: <{in_reply_to}>", f"References: <{in_reply_to}>"]
    headers += ["Content-Type: text/plain; charset=gb2312", "Content-Transfer-Encoding: base64"]
    return ("\r\n".join(headers) + extra + "\r\n\r\n").encode() + base64.b64encode(body) + b"\r\n"


def post_email(client, raw):
    return client.post("/v1/channels/email/inbound", content=raw, headers={"Content-Type": "message/rfc822"})


def test_an_email_opens_a_ticket_with_its_decoded_subject_and_text(client):
    sender = random_ref("buyer-") + "@example.com"
    response = post_email(client, raw_email(random_ref("m-") + "@mail.example", sender=sender))

    assert response.status_code == 201, response.text
    answer = response.json()
    ticket = client.get(f"/v1/tickets/{answer['ticket_id']}").json()
    assert ticket["subject"] == "订单问题" and ticket["channel"] == "email"
    message = next(e for e in history(client, answer["ticket_id"]) if e["type"] == "Ticket.CustomerMessageAdded")
    assert message["data"]["text"] == "包裹还没到。"
    customer = client.get(f"/v1/customers/{answer['customer_id']}").json()
    assert customer["display_name"] == "李雷"
    assert {"kind": "email", "value": sender, "channel": None} in customer["identities"]


def test_a_reply_threads_into_the_same_conversation_and_a_redelivery_appends_nothing(client):
    root = random_ref("root-") + "@mail.example"
    first = post_email(client, raw_email(root)).json()
    reply_raw = raw_email(random_ref("re-") + "@mail.example", in_reply_to=root)

    reply = post_email(client, reply_raw)
    again = post_email(client, reply_raw)

    assert reply.status_code == 201 and reply.json()["conversation_id"] == first["conversation_id"]
    assert reply.json()["ticket_id"] == first["ticket_id"]
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert client.get(f"/v1/conversations/{first['conversation_id']}").json()["inbound_count"] == 2


def test_an_email_from_a_buyer_known_on_taobao_lands_on_the_same_customer(client):
    sender = random_ref("b-") + "@example.com"
    taobao = inbound(client, customer={"email": sender})
    mail = post_email(client, raw_email(random_ref("m-") + "@x", sender=sender)).json()
    assert mail["customer_id"] == taobao["customer_id"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"", "body"),
        (b"\x00\xff\xfe garbage", None),
        (b"From: buyer@example.com\r\nSubject: no id\r\n\r\nhello", "Message-ID"),
        (b"From: nobody\r\nMessage-ID: <a@b>\r\n\r\nhello", "From"),
        (b"From: a@b.example\r\nMessage-ID: <a@b>\r\nDate: not a date\r\n\r\nhello", "Date"),
    ],
)
def test_an_email_that_cannot_be_parsed_is_a_4xx_problem(client, raw, field):
    response = post_email(client, raw)
    assert 400 <= response.status_code < 500 and is_problem(response, response.status_code, field), response.text
