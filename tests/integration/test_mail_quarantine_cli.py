"""`ledgerdesk mail quarantine list|retry`: an operator sees held mail and retries it from a terminal."""
from __future__ import annotations

import json
import uuid

import pytest

import ledgerdesk.interfaces.mail_intake as mail_intake
from ledgerdesk.application import commands as c
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.interfaces.cli import main
from ledgerdesk.interfaces.email_message import parse_email
from tests.conftest import random_ref

pytestmark = pytest.mark.integration

BOUNCE = b"From: MAILER DAEMON <>\r\nMessage-ID: <%s@python.org>\r\n\r\nBANNED FILENAME ALERT\r\n"


def quarantined(ledger, tenant: str) -> str:
    command_id = random_ref("cmd-")
    context = c.CommandContext(tenant, Actor(ActorKind.INTEGRATOR, "mail-gateway"), command_id, command_id)
    raw = BOUNCE % random_ref().encode()
    return mail_intake.take_in_mail(ledger, context, raw).outcome.result["quarantine_id"]


def test_list_shows_each_tenants_held_mail_as_current_as_the_log(ledger, settings, capsys):
    tenant, other = random_ref("shop-"), random_ref("shop-")
    mine, theirs = quarantined(ledger, tenant), quarantined(ledger, other)

    assert main(["mail", "quarantine", "list", "--tenant", tenant, "--json", "--database", settings.database_url]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(i["quarantine_id"], i["status"], i["field"]) for i in listed] == [(mine, "held", "From")]

    assert main(["mail", "quarantine", "list", "--database", settings.database_url]) == 0
    table = capsys.readouterr().out
    assert mine in table and theirs in table and "no sender address" in table


def test_retry_says_why_a_mail_is_still_held_and_stores_nothing(ledger, settings, capsys):
    mail_id = quarantined(ledger, random_ref("shop-"))
    head = ledger.recorder.max_notification_id()

    assert main(["mail", "quarantine", "retry", mail_id, "--database", settings.database_url]) == 1

    assert "not released (From)" in capsys.readouterr().err
    assert ledger.recorder.max_notification_id() == head


def test_retry_after_a_parser_fix_releases_the_mail(ledger, settings, capsys, monkeypatch):
    tenant = random_ref("shop-")
    mail_id = quarantined(ledger, tenant)
    monkeypatch.setattr(
        mail_intake, "parse_email", lambda raw, **kw: parse_email(raw.replace(b"<>", b"<mailer-daemon@python.org>", 1), **kw)
    )

    assert main(["mail", "quarantine", "retry", mail_id, "--actor", "ops-olga", "--database", settings.database_url]) == 0

    assert f"released {mail_id} as message" in capsys.readouterr().out
    released = [e for e in ledger.events.get(uuid.UUID(mail_id)) if type(e).__name__ == "Released"]
    assert len(released) == 1 and released[0].meta.actor == Actor(ActorKind.SYSTEM, "ops-olga")


def test_retry_of_an_unknown_mail_fails(settings, capsys):
    assert main(["mail", "quarantine", "retry", str(uuid.uuid4()), "--database", settings.database_url]) == 1
    assert "no quarantined mail" in capsys.readouterr().err
