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
    settings = Settings(database_url=f"sqlite:///{tmp_path}/x.db", api_keys={"key-12345": {"tenant": "t", "actor": "a"}})
    assert ensure_dev_key(settings) == (settings, None)
    assert not settings.dev_key_path().exists()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_projections_status_shows_the_lag_and_rebuild_catches_up_with_a_progress_bar(ledger, settings, clock, capsys):
    context = c.CommandContext(random_ref("t-"), Actor(ActorKind.INTEGRATOR, "shop"), "cmd-1", "cmd-1")
    ledger.execute(c.ReceiveInboundMessage(context, channel="taobao", external_thread_id="th", external_user_id="u",
                                           external_message_id=random_ref("m-"), text="包裹呢", sent_at=clock()))
    head = ledger.recorder.max_notification_id()

    assert main(["projections", "status", "--json", "--database", settings.database_url]) == 0
    before = json.loads(capsys.readouterr().out)
    # The read models, and the policies and the audit checkpointer that follow the log beside them,
    # then the policies' timers (offline agents for routing, SLA clocks for escalation).
    timers = before.pop()
    assert {row["name"] for row in before} == {"inbox", "timeline", "analytics", "quarantine", "agents", "policy:routing",
                                               "audit:checkpoints"}
    assert all(row["lag"] == head and row["position"] == 0 for row in before)
    assert (timers["name"], timers["state"], timers["overdue"], timers["next_at"]) == ("timers", "running", 0, None)

    assert main(["projections", "rebuild", "--database", settings.database_url]) == 0
    output = capsys.readouterr()
    assert "events/s" in output.out and "rebuilding" in output.err  # tqdm draws its bar on stderr

    assert main(["projections", "status", "--json", "--database", settings.database_url]) == 0
    after = json.loads(capsys.readouterr().out)
    rebuilt = [row for row in after if not row["name"].startswith(("policy:", "audit:", "timers"))]  # none is ever rebuilt
    assert len(rebuilt) == 5 and all(row["lag"] == 0 and row["generation"] == 2 for row in rebuilt)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_rebuilding_an_unknown_read_model_names_the_known_ones(settings, capsys):
    assert main(["projections", "rebuild", "nonsense", "--database", settings.database_url]) == 2
    assert "inbox" in capsys.readouterr().err


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_verify_finds_the_live_read_models_equal_to_a_rebuild_and_names_a_tampered_row(ledger, settings, projector, clock, capsys):
    from sqlalchemy import update

    from ledgerdesk.projections.inbox.tables import inbox_tickets

    context = c.CommandContext(random_ref("t-"), Actor(ActorKind.INTEGRATOR, "shop"), "cmd-1", "cmd-1")
    ledger.execute(c.ReceiveInboundMessage(context, channel="taobao", external_thread_id="th", external_user_id="u",
                                           external_message_id=random_ref("m-"), text="包裹呢", sent_at=clock()))
    projector.catch_up()

    assert main(["projections", "verify", "--database", settings.database_url]) == 0
    assert capsys.readouterr().out.count("equal to a rebuild") == 5

    with projector.store.writing() as conn:
        conn.execute(update(inbox_tickets).values(subject="tampered"))
    assert main(["projections", "verify", "inbox", "--database", settings.database_url]) == 1
    out = capsys.readouterr().out
    assert "inbox at position" in out and "DIFFERS" in out and "tampered" in out
    assert main(["projections", "status", "--json", "--database", settings.database_url]) == 0
    assert all(row["rebuilding"] is None for row in json.loads(capsys.readouterr().out)), "the rebuilt copy is dropped"
