"""Case files on SQLite and PostgreSQL: an order's case holds both channels' tickets and messages, the
reply, the SLA breach and the policies' steps with their causes, as of now and as of a moment in the
middle; it checks offline; and `case export` / `audit verify-file` work from the command line."""
from __future__ import annotations

import json
from datetime import timedelta
from uuid import UUID

import pytest

from ledgerdesk.application.case_files.scope import CaseScope, ScopeKind
from ledgerdesk.application.case_files.verification import check_case
from ledgerdesk.application.errors import NotFound
from ledgerdesk.interfaces.bootstrap import build_case_builder
from ledgerdesk.interfaces.cli import main
from tests.case_story import HOSTILE, Story, tell_story

pytestmark = pytest.mark.integration


@pytest.fixture
def story(ledger, read_store, projector, clock) -> Story:  # type: ignore[no-untyped-def]
    return tell_story(ledger, read_store, projector, clock)


def case(ledger, read_store, story: Story, kind: ScopeKind = ScopeKind.ORDER, value: str | None = None,  # type: ignore[no-untyped-def]
         as_of=None, tenant: str | None = None) -> dict:
    scope = CaseScope(kind, value or story.order_id)
    return build_case_builder(ledger, read_store)(tenant or story.tenant, scope, as_of, ledger.clock())


def by_type(found: dict) -> dict[str, list[dict]]:
    types: dict[str, list[dict]] = {}
    for entry in found["entries"]:
        types.setdefault(entry["type"], []).append(entry)
    return types


def test_an_orders_case_tells_the_whole_story_with_causes(ledger, read_store, story: Story) -> None:
    found = case(ledger, read_store, story)
    types = by_type(found)
    assert found["scope"]["ticket_ids"] == sorted([story.taobao_ticket, story.email_ticket])
    assert len(found["scope"]["conversation_ids"]) == 2 and found["scope"]["customer_ids"] == [story.customer_id]
    assert {e["channel"] for e in types["Conversation.InboundMessageReceived"]} == {"taobao", "email"}
    assert HOSTILE in types["Conversation.InboundMessageReceived"][0]["data"]["text"]
    [reply] = types["Ticket.ReplySent"]
    assert reply["actor"] == {"kind": "agent", "id": "li.na"} and reply["channel"] == "taobao"

    # triage: a policy step caused by the customer's message, with its reason and decision
    [categorised] = [e for e in types["Ticket.CategoryChanged"] if e["ticket_id"] == story.taobao_ticket]
    message = next(e for e in types["Ticket.CustomerMessageAdded"] if e["ticket_id"] == story.taobao_ticket)
    assert categorised["automatic"] and categorised["actor"] == {"kind": "policy", "id": "triage"}
    assert categorised["cause_in_case"] and categorised["causation_id"] == message["id"]
    assert "rule refund" in categorised["reason"] and categorised["decision"]

    # the breach: escalated by the policy, which raised the priority, caused by the escalation
    assert {e["ticket_id"] for e in types["Ticket.Escalated"]} == {story.taobao_ticket, story.email_ticket}  # both missed it
    [escalated] = [e for e in types["Ticket.Escalated"] if e["ticket_id"] == story.taobao_ticket]
    raised = next(e for e in types["Ticket.PriorityChanged"] if e["causation_id"] == escalated["id"])
    assert "breach" in escalated["data"]["levels"] and escalated["automatic"] and escalated["reason"]
    assert raised["causation_id"] == escalated["id"] and raised["cause_in_case"]
    # its cause: the ticket's last event when the clock was judged, the state the policy decided on
    assert escalated["cause_in_case"] and escalated["causation_id"] == next(
        e["id"] for e in found["entries"] if e["stream_id"] == story.taobao_ticket and e["version"] == escalated["version"] - 1)

    statuses = [(e["data"]["from_status"], e["data"]["to_status"]) for e in types["Ticket.StatusChanged"]]
    assert ("open", "solved") in statuses

    taobao = next(t for t in found["tickets"] if t["ticket_id"] == story.taobao_ticket)
    assert (taobao["status"], taobao["priority"], taobao["category"]) == ("solved", "urgent", "refund")
    [first_reply] = [c for c in taobao["sla"]["clocks"] if c["metric"] == "first_reply"]
    assert first_reply["outcome"] == "missed" and first_reply["missed_at"] and taobao["sla"]["judged"].startswith("now")
    assert check_case(json.loads(json.dumps(found))).problems == []


def test_as_of_a_moment_in_the_middle_the_case_holds_only_what_had_happened(ledger, read_store, story: Story) -> None:
    whole = case(ledger, read_store, story)
    middle = case(ledger, read_store, story, as_of=story.middle)
    types = by_type(middle)
    assert middle["as_of"] == story.middle.isoformat() and middle["as_of_requested"]
    assert len(types["Conversation.InboundMessageReceived"]) == 2 and "Ticket.CategoryChanged" in types
    assert not {"Ticket.Escalated", "Ticket.ReplySent"} & set(types)
    assert all(e["occurred_at"] <= story.middle.isoformat() for e in middle["entries"])
    assert 0 < len(middle["entries"]) < len(whole["entries"])
    taobao = next(t for t in middle["tickets"] if t["ticket_id"] == story.taobao_ticket)
    assert (taobao["status"], taobao["priority"]) == ("new", "normal")
    [first_reply] = [c for c in taobao["sla"]["clocks"] if c["metric"] == "first_reply"]
    # Replayed to the moment: the first reply was still owed, its clock running (the breach came later).
    assert first_reply["outcome"] == "running" and first_reply["missed_at"] is None
    assert taobao["sla"]["judged"].startswith("at the case's moment")
    assert check_case(json.loads(json.dumps(middle))).problems == []
    before = case(ledger, read_store, story, as_of=story.opened_at - timedelta(seconds=1))
    assert before["entries"] == [] and before["tickets"] == []


def test_a_ticket_and_a_customer_case(ledger, read_store, story: Story) -> None:
    ticket = case(ledger, read_store, story, ScopeKind.TICKET, story.email_ticket)
    assert ticket["scope"]["ticket_ids"] == [story.email_ticket] and len(ticket["scope"]["conversation_ids"]) == 1
    customer = case(ledger, read_store, story, ScopeKind.CUSTOMER, story.customer_id)
    assert set(customer["scope"]["ticket_ids"]) == {story.taobao_ticket, story.email_ticket}
    assert "Customer.Registered" in by_type(customer)
    assert check_case(json.loads(json.dumps(customer))).problems == []


def test_another_tenant_finds_nothing_of_it(ledger, read_store, story: Story) -> None:
    for kind, value in ((ScopeKind.ORDER, story.order_id), (ScopeKind.TICKET, story.taobao_ticket),
                        (ScopeKind.CUSTOMER, story.customer_id)):
        with pytest.raises(NotFound) as refused:
            case(ledger, read_store, story, kind, value, tenant="someone-else")
        assert refused.value.field == f"{kind}_id"
    with pytest.raises(NotFound):
        case(ledger, read_store, story, ScopeKind.TICKET, str(UUID(int=7)))


def test_export_and_verify_file_from_the_command_line(ledger, read_store, story: Story, settings, tmp_path, capsys,
                                                      monkeypatch) -> None:
    monkeypatch.setenv("LEDGERDESK_DATABASE_URL", settings.database_url)
    exported = tmp_path / "case.json"
    assert main(["case", "export", "--tenant", story.tenant, "--order", story.order_id, "--format", "json",
                 "--out", str(exported)]) == 0
    assert main(["case", "export", "--tenant", story.tenant, "--order", story.order_id, "--as-of", story.middle.isoformat(),
                 "--format", "html", "--lang", "zh", "--out", str(tmp_path / "case.html")]) == 0
    html = (tmp_path / "case.html").read_text()
    assert "案卷" in html and "&lt;script&gt;" in html and HOSTILE not in html
    capsys.readouterr()
    monkeypatch.delenv("LEDGERDESK_DATABASE_URL")  # offline: no database named at all
    assert main(["audit", "verify-file", str(exported)]) == 0
    assert capsys.readouterr().out.startswith("OK: ")

    edited = json.loads(exported.read_text())
    reply = next(e for e in edited["entries"] if e["type"] == "Ticket.ReplySent")
    reply["data"]["text"] = "we never said that"
    exported.write_text(json.dumps(edited, ensure_ascii=False))
    assert main(["audit", "verify-file", str(exported)]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH entry" in out and "Ticket.ReplySent" in out and "NOT verified: 1 mismatches" in out


def test_the_migration_makes_the_order_links_index_the_timeline_declares(read_store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from ledgerdesk.projections.schema import metadata
    from ledgerdesk.projections.timeline.projection import CustomerTimeline

    names = {table.name for table in CustomerTimeline.tables}
    with read_store.write_engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert [d for d in differences if any(name in repr(d) for name in names)] == []
