"""Raw RFC 5322 email over HTTP: threaded, decoded, deduplicated, tied to the sender."""
import base64
from datetime import datetime

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


def post_email(client, raw, headers=None):
    return client.post("/v1/channels/email/inbound", content=raw, headers={"Content-Type": "message/rfc822", **(headers or {})})


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


def test_a_mail_without_a_message_id_is_keyed_by_its_bytes_so_a_redelivery_is_a_duplicate(client):
    # The trial: 25 of CPython's 41 real mails had no Message-ID and were answered 422.
    raw = b"From: buyer@example.com\r\nSubject: no id\r\n\r\nWhere is order " + random_ref().encode() + b"?\r\n"

    first = post_email(client, raw)
    again = post_email(client, raw)
    other = post_email(client, raw + b"Thanks.\r\n")

    assert first.status_code == 201, first.text
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["message_id"] == first.json()["message_id"] and again.json()["position"] is None
    assert other.status_code == 201 and other.json()["message_id"] != first.json()["message_id"]
    assert other.json()["conversation_id"] != first.json()["conversation_id"]  # each its own thread


def test_a_sender_at_a_local_domain_is_a_customer_with_that_email(client):
    # The trial: CPython's msg_26, from father.time@xcar.wooster.local, was "a special-use or reserved name".
    sender = random_ref("father.time-") + "@xcar.wooster.local"

    answer = post_email(client, raw_email(random_ref("m-") + "@x", sender=sender))

    assert answer.status_code == 201, answer.text
    customer = client.get(f"/v1/customers/{answer.json()['customer_id']}").json()
    assert {"kind": "email", "value": sender, "channel": None} in customer["identities"]


def test_a_sender_with_no_domain_is_a_channel_user_without_an_email(client):
    # The trial: CPython's msg_05, "From: foo".
    sender = random_ref("foo")
    raw = f"From: {sender}\r\nMessage-ID: <{random_ref()}@x>\r\n\r\nYadda yadda yadda\r\n".encode()

    answer = post_email(client, raw)

    assert answer.status_code == 201, answer.text
    customer = client.get(f"/v1/customers/{answer.json()['customer_id']}").json()
    assert customer["identities"] == [{"kind": "channel_user", "value": sender, "channel": "email"}]


@pytest.mark.parametrize("date", ["Date: not a date", "Date: Fri, 31 Dec 9999 23:59:59 +0000", "Date: Mon, 1 Jan 1900 00:00:00 +0000",
                                  "Date: Mon, 1 Jan 0001 00:00:00 +0000"])  # read as 2001 by the standard library
def test_a_bad_or_absurd_date_is_taken_as_the_time_of_receipt(client, clock, date):
    raw = f"From: a@b.example\r\nMessage-ID: <{random_ref()}@b>\r\n{date}\r\n\r\nhello".encode()
    before = clock.now

    answer = post_email(client, raw)

    assert answer.status_code == 201, answer.text
    message = next(e for e in history(client, answer.json()["ticket_id"]) if e["type"] == "Ticket.CustomerMessageAdded")
    assert before < datetime.fromisoformat(message["data"]["sent_at"]) <= clock.now


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"], ids=["U+2028", "U+2029", "NEL"])
def test_a_line_or_paragraph_separator_in_a_mail_is_a_line_break(client, separator):
    """Hostile run: an HTML mail's U+2028, U+2029 and NEL became spaces, running its lines together."""
    for subtype in ("plain", "html"):
        body = f"Order 1042{separator}has not arrived".encode()
        raw = (f"From: a@b.example\r\nMessage-ID: <{random_ref()}@b>\r\n"
               f"Content-Type: text/{subtype}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n").encode()
        answer = post_email(client, raw + base64.b64encode(body) + b"\r\n")
        assert answer.status_code == 201, answer.text
        message = next(e for e in history(client, answer.json()["ticket_id"]) if e["type"] == "Ticket.CustomerMessageAdded")
        assert message["data"]["text"] == "Order 1042\nhas not arrived", subtype


def test_a_mail_with_attachments_and_no_text_is_a_message(client):
    raw = (
        f"From: scanner@example.com\r\nMessage-ID: <{random_ref()}@example.com>\r\n"
        'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="scan.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(b"%PDF-1.4 scanned receipt")

    answer = post_email(client, raw)

    assert answer.status_code == 201, answer.text
    conversation = client.get(f"/v1/conversations/{answer.json()['conversation_id']}").json()
    assert conversation["inbound_count"] == 1


def test_an_auditor_is_refused_before_the_mail_is_read(client, keys):
    response = post_email(client, b"", headers={"Authorization": f"Bearer {keys.auditor}"})

    assert is_problem(response, 403, "Authorization")
