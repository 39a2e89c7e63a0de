"""Mail that cannot become a message is quarantined, not lost: 202 with an id, listed, read, retried.

The trial behind it: `From: MAILER DAEMON <>` (CPython's msg_43), header-less bytes and empty
bodies were answered 4xx, so a mail gateway dropped them.
"""
from __future__ import annotations

import base64
import hashlib

import pytest

import ledgerdesk.interfaces.mail_intake as mail_intake
from ledgerdesk.interfaces.email_message import parse_email
from ledgerdesk.interfaces.settings import ApiKey, Role
from tests.conftest import random_ref
from tests.e2e.api import history, is_problem
from tests.e2e.mail_api import QUARANTINE, as_key, post_email, serving

pytestmark = pytest.mark.e2e


class MailKeys:
    def __init__(self) -> None:
        self.tenant = random_ref("shop-")
        self.gateway, self.admin, self.agent, self.auditor, self.other_admin = (random_ref("key-") for _ in range(5))

    def config(self) -> dict[str, ApiKey]:
        return {
            self.gateway: ApiKey(tenant=self.tenant, actor="mail-gateway", role=Role.INTEGRATOR),
            self.admin: ApiKey(tenant=self.tenant, actor="ops-olga", role=Role.ADMIN),
            self.agent: ApiKey(tenant=self.tenant, actor="agent-ada", role=Role.AGENT),
            self.auditor: ApiKey(tenant=self.tenant, actor="auditor-ann", role=Role.AUDITOR),
            self.other_admin: ApiKey(tenant=random_ref("shop-"), actor="other-ops", role=Role.ADMIN),
        }


@pytest.fixture
def mail_keys() -> MailKeys:
    return MailKeys()


@pytest.fixture
def client(ledger, read_store, mail_keys):
    with serving(ledger, read_store, mail_keys.config()) as served:
        served.headers["Authorization"] = f"Bearer {mail_keys.gateway}"
        yield served


def no_sender(message_id: str | None = None) -> bytes:
    # CPython's msg_43: a bounce whose From is a null address.
    message_id = message_id or random_ref("bounce-") + "@python.org"
    return (
        f"From: MAILER DAEMON <>\r\nTo: <webmaster@python.org>\r\nMessage-Id: <{message_id}>\r\n"
        "Subject: Banned file: auto__mail.python.bat in mail from you\r\nDate: Fri, 26 Nov 2004 19:41:44 -0800\r\n\r\n"
        "BANNED FILENAME ALERT\r\n"
    ).encode()


def head(ledger) -> int:
    return ledger.recorder.max_notification_id() or 0


def fix_the_parser(monkeypatch) -> None:
    """Stands in for a parser fix: a null sender is read as the mailer daemon."""

    def fixed(raw: bytes, **kwargs):
        return parse_email(raw.replace(b"<>", b"<mailer-daemon@python.org>", 1), **kwargs)

    monkeypatch.setattr(mail_intake, "parse_email", fixed)


def test_a_mail_with_no_sender_is_kept_with_its_reason_and_answered_202(client, ledger, mail_keys):
    raw = no_sender()

    answer = post_email(client, raw)

    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["field"] == "From" and "MAILER DAEMON" in body["reason"] and body["duplicate"] is False
    assert body["sha256"] == hashlib.sha256(raw).hexdigest() and body["size"] == len(raw)
    assert answer.headers["Location"] == f"{QUARANTINE}/{body['quarantine_id']}"
    kept = client.get(f"{QUARANTINE}/{body['quarantine_id']}", headers=as_key(mail_keys.admin))
    assert kept.status_code == 200, kept.text
    assert base64.b64decode(kept.json()["raw_base64"]) == raw
    assert kept.json()["status"] == "held" and kept.json()["released"] is None


def test_the_same_bytes_again_answer_the_same_quarantine_id_and_append_nothing(client, ledger):
    raw = no_sender()
    first = post_email(client, raw).json()
    before = head(ledger)

    again = post_email(client, raw)

    assert again.status_code == 202 and again.json()["quarantine_id"] == first["quarantine_id"]
    assert again.json()["duplicate"] is True and again.json()["position"] is None
    assert head(ledger) == before


@pytest.mark.parametrize(
    ("raw", "field"),
    [(b"", "body"), (b"\x00\xff\xfe garbage", "body"), (b"just some words\n", "body"),
     (b"Subject: no sender\r\nMessage-ID: <q@x>\r\n\r\nhello", "From")],
)
def test_bytes_that_cannot_become_a_message_are_quarantined_not_refused(client, raw, field):
    answer = post_email(client, raw)

    assert answer.status_code == 202 and answer.json()["field"] == field, answer.text


def test_a_mail_the_domain_refuses_is_quarantined_naming_the_field(client):
    raw = b"From: buyer@example.com\r\nMessage-ID: <" + b"x" * 600 + b"@example.com>\r\n\r\nWhere is my parcel?"

    answer = post_email(client, raw)

    assert answer.status_code == 202 and answer.json()["field"] == "external_thread_id", answer.text


def test_a_mail_past_the_text_and_attachment_limits_is_a_message_with_a_note_of_what_was_left_out(client):
    """Trial ([hardening] hostile run): a 20,000-part mail became a message with 20,000 attachments
    (the JSON route caps them at 100); a text over the limit was held back instead of taken in."""
    files = b"".join(
        b"--B\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=p%d.png\r\n\r\nx\r\n" % n
        for n in range(130)
    )
    raw = (b"From: buyer@example.com\r\nMessage-ID: <many@example.com>\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
           b"--B\r\nContent-Type: text/plain\r\n\r\n" + b"y" * 70_000 + b"\r\n" + files + b"--B--\r\n")

    answer = post_email(client, raw)

    assert answer.status_code == 201, answer.text
    [message] = [e for e in client.get("/v1/events", params={"limit": 1000}).json()["items"]
                 if e["type"] == "Conversation.InboundMessageReceived" and e["aggregate_id"] == answer.json()["conversation_id"]]
    assert len(message["data"]["attachments"]) == 100
    assert message["data"]["text"].endswith("[30 more attachments are not listed]")
    assert "[the mail's text has 70000 characters" in message["data"]["text"]


def test_the_admin_lists_quarantined_mail_and_no_other_role_sees_it(client, mail_keys):
    quarantined = post_email(client, no_sender()).json()

    listed = client.get(QUARANTINE, params={"min_position": quarantined["position"], "status": "held"},
                        headers=as_key(mail_keys.admin))

    assert listed.status_code == 200, listed.text
    item = next(i for i in listed.json()["items"] if i["quarantine_id"] == quarantined["quarantine_id"])
    assert item["field"] == "From" and item["status"] == "held" and item["size"] > 0 and "raw_base64" not in item
    for key in (mail_keys.gateway, mail_keys.agent, mail_keys.auditor):
        for response in (
            client.get(QUARANTINE, headers=as_key(key)),
            client.get(f"{QUARANTINE}/{quarantined['quarantine_id']}", headers=as_key(key)),
            client.post(f"{QUARANTINE}/{quarantined['quarantine_id']}/retry", headers=as_key(key)),
        ):
            assert is_problem(response, 403, "Authorization"), response.text


def test_another_tenants_admin_neither_lists_nor_reads_nor_retries_it(client, mail_keys):
    quarantined = post_email(client, no_sender()).json()
    other = as_key(mail_keys.other_admin)

    listed = client.get(QUARANTINE, params={"min_position": quarantined["position"]}, headers=other)

    assert listed.status_code == 200 and listed.json()["items"] == []
    assert client.get(f"{QUARANTINE}/{quarantined['quarantine_id']}", headers=other).status_code == 404
    assert client.post(f"{QUARANTINE}/{quarantined['quarantine_id']}/retry", headers=other).status_code == 404


def test_a_retry_the_parser_still_refuses_is_a_422_naming_the_field_and_appends_nothing(client, ledger, mail_keys):
    quarantined = post_email(client, no_sender()).json()
    before = head(ledger)

    retried = client.post(f"{QUARANTINE}/{quarantined['quarantine_id']}/retry", headers=as_key(mail_keys.admin))

    assert is_problem(retried, 422, "From") and "still cannot become a message" in retried.json()["detail"]
    assert head(ledger) == before


def test_a_retry_after_a_parser_fix_takes_the_mail_in_and_releases_it_in_one_append(client, ledger, mail_keys, monkeypatch):
    raw = no_sender()
    mail_id = post_email(client, raw).json()["quarantine_id"]
    fix_the_parser(monkeypatch)
    appends: list[list[str]] = []
    insert = ledger.group_commit.insert

    def recording_insert(events):
        appends.append([e.topic.partition(":")[2] for e in events])
        return insert(events)

    monkeypatch.setattr(ledger.group_commit, "insert", recording_insert)

    retried = client.post(f"{QUARANTINE}/{mail_id}/retry", headers=as_key(mail_keys.admin))

    assert retried.status_code == 201, retried.text
    released = retried.json()
    assert released["quarantine_id"] == mail_id and released["status"] == "released" and released["duplicate"] is False
    assert len(appends) == 1 and "QuarantinedMail.Released" in appends[0] and "Ticket.CustomerMessageAdded" in appends[0]
    message = next(e for e in history(client, released["ticket_id"]) if e["type"] == "Ticket.CustomerMessageAdded")
    assert message["data"]["text"] == "BANNED FILENAME ALERT" and message["data"]["message_id"] == released["message_id"]
    kept = client.get(f"{QUARANTINE}/{mail_id}", headers=as_key(mail_keys.admin)).json()
    assert kept["status"] == "released" and kept["released"]["ticket_id"] == released["ticket_id"]
    listed = client.get(QUARANTINE, params={"min_position": released["position"]}, headers=as_key(mail_keys.admin)).json()
    assert next(i for i in listed["items"] if i["quarantine_id"] == mail_id)["released"]["message_id"] == released["message_id"]

    before = head(ledger)
    again = client.post(f"{QUARANTINE}/{mail_id}/retry", headers=as_key(mail_keys.admin))
    assert is_problem(again, 409, "quarantine_id") and head(ledger) == before
    # The gateway redelivers the bytes: with the fixed parser they are the message already taken in.
    redelivered = post_email(client, raw)
    assert redelivered.status_code == 200 and redelivered.json()["message_id"] == released["message_id"]


def test_a_retry_of_a_mail_whose_message_came_in_meanwhile_releases_it_to_that_message(client, ledger, mail_keys, monkeypatch):
    raw = no_sender()
    mail_id = post_email(client, raw).json()["quarantine_id"]
    fix_the_parser(monkeypatch)
    taken_in = post_email(client, raw)  # the redelivery after the fix, before anyone retried
    assert taken_in.status_code == 201, taken_in.text

    retried = client.post(f"{QUARANTINE}/{mail_id}/retry", headers=as_key(mail_keys.admin))

    assert retried.status_code == 200, retried.text
    assert retried.json()["duplicate"] is True and retried.json()["message_id"] == taken_in.json()["message_id"]
