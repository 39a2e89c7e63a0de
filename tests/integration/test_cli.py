"""The command line: a ticket's history for a terminal, and the development key `serve` keeps."""
import json
import uuid

import pytest

from ledgerdesk.application import commands as c
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.interfaces.bootstrap import ensure_dev_key
from ledgerdesk.interfaces.cli import main
from ledgerdesk.interfaces.settings import Settings
from tests.conftest import random_ref

pytestmark = pytest.mark.integration


def test_history_prints_every_event_with_its_actor_and_cause(ledger, settings, clock, capsys):
    context = c.CommandContext(random_ref("t-"), Actor(ActorKind.INTEGRATOR, "shop"), "cmd-1", "cmd-1")
    opened = ledger.execute(c.ReceiveInboundMessage(context, channel="taobao", external_thread_id="th", external_user_id="u",
                                                    external_message_id=random_ref("m-"), text="包裹呢", sent_at=clock()))
    ticket_id = opened.result["ticket_id"]
    ledger.execute(c.ReplyToTicket(context, uuid.UUID(ticket_id), text="已发货"))

    assert main(["history", ticket_id, "--database", settings.database_url, "--json"]) == 0

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["type"] for e in lines] == ["Ticket.Opened", "Ticket.CustomerMessageAdded", "Ticket.ReplySent", "Ticket.StatusChanged"]
    assert lines[0]["actor"] == {"kind": "integrator", "id": "shop"} and lines[0]["causation_id"]


def test_history_of_an_unknown_ticket_fails(settings, capsys):
    assert main(["history", str(uuid.uuid4()), "--database", settings.database_url]) == 1
    assert "no ticket" in capsys.readouterr().err


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_serve_without_keys_makes_one_development_key_and_keeps_it(settings):
    first, key = ensure_dev_key(settings)
    again, same_key = ensure_dev_key(settings)

    assert key and key == same_key
    assert first.api_keys[key].tenant == "demo" and again.api_keys == first.api_keys
    assert settings.dev_key_path().stat().st_mode & 0o077 == 0


def test_configured_keys_mean_no_development_key(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path}/x.db", api_keys={"k": {"tenant": "t", "actor": "a"}})
    assert ensure_dev_key(settings) == (settings, None)
    assert not settings.dev_key_path().exists()
