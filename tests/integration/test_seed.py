"""`ledgerdesk seed`: realistic traffic through the application, repeatable by its seed.

One test per backend on purpose: the seeded tenants have fixed names, and the PostgreSQL
database is shared by the whole session, so a second seeding test would see this one's data.
"""
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from uuid import UUID

import orjson
import pytest

from ledgerdesk.domain.customer import Customer
from ledgerdesk.domain.identity import IdentityKind
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.interfaces.bootstrap import build_follower, build_ledger, build_read_store
from ledgerdesk.interfaces.seed import TENANTS, seed_traffic
from ledgerdesk.interfaces.settings import Settings

pytestmark = pytest.mark.integration


def tenant_events(ledger, tenant):
    items, after = [], 0
    while True:
        page = ledger.feed(tenant, after, 1000)
        items += page["items"]
        if page["next_after"] >= page["head"]:
            return items
        after = page["next_after"]


def test_seeding_sends_realistic_traffic_that_a_rerun_only_repeats(ledger, capsys):
    before = ledger.recorder.max_notification_id() or 0
    report = seed_traffic(ledger, tickets=30, seed=11)

    assert report.tenants == list(TENANTS)
    assert report.tickets_opened == 30
    assert report.refused == 0
    assert report.replayed == 0
    assert report.messages >= 30
    assert report.commands > report.messages
    assert report.events_appended > report.commands  # every command appends at least its ticket's events
    assert report.commands_per_second > 0
    assert "30 tickets opened" in capsys.readouterr().out

    events = {tenant: tenant_events(ledger, tenant) for tenant in TENANTS}
    types = Counter(e["type"] for items in events.values() for e in items)
    assert types["Ticket.Opened"] == 30
    for kind in ("Ticket.Assigned", "Ticket.ReplySent", "Ticket.StatusChanged", "Ticket.Rated", "Ticket.OrderLinked"):
        assert types[kind] > 0, kind
    for tenant, ids in report.sample_tickets.items():
        assert ids and all(ledger.aggregate(tenant, Ticket, UUID(i)).tenant == tenant for i in ids)

    # Repeat customers: identity resolution ties one person's channels together.
    channels_per_customer = [
        {i.channel for i in ledger.aggregate(tenant, Customer, UUID(e["aggregate_id"])).identities if i.kind is IdentityKind.CHANNEL_USER}
        for tenant, items in events.items()
        for e in items
        if e["type"] == "Customer.Registered"
    ]
    assert max(len(channels) for channels in channels_per_customer) >= 2

    # A rated ticket's history says who did what: the connector, the agent, the survey.
    tenant, rated = next((t, e) for t, items in events.items() for e in items if e["type"] == "Ticket.Rated")
    history = ledger.history(tenant, Ticket, UUID(rated["aggregate_id"]), 0, 1000)["items"]
    by_type = {e["type"]: e for e in history}
    assert {"Ticket.Opened", "Ticket.Assigned", "Ticket.ReplySent", "Ticket.StatusChanged", "Ticket.Rated"} <= set(by_type)
    assert by_type["Ticket.Opened"]["actor"]["kind"] == "integrator"
    assert by_type["Ticket.ReplySent"]["actor"]["kind"] == "agent"
    assert by_type["Ticket.ReplySent"]["actor"]["id"] == by_type["Ticket.Assigned"]["data"]["agent_id"]
    assert all(e["actor"]["id"] and e["command_id"] and e["correlation_id"] for e in history)
    assert len({e["correlation_id"] for e in history}) == 1  # one case, one correlation

    # The cases interleave in time order, as real traffic does: the log's times rise with its
    # positions, so a replay until a moment (say, the end of Double 11) takes all stored by then.
    seeded = ledger.recorder.select_notifications(start=before, limit=10_000, inclusive_of_start=False)
    times = [datetime.fromisoformat(orjson.loads(n.state)["timestamp"]["_data_"]) for n in seeded]
    assert len(seeded) == report.events_appended and times == sorted(times)
    double_11 = datetime(2026, 11, 11, tzinfo=timezone(timedelta(hours=8)))
    assert times[0] < double_11 < times[-1]

    # The same seed again: every message is a duplicate and every command replays its receipt.
    head = ledger.recorder.max_notification_id()
    again = seed_traffic(ledger, tickets=30, seed=11)

    assert ledger.recorder.max_notification_id() == head
    assert again.events_appended == 0
    assert again.tickets_opened == 0 and again.messages == 0 and again.merged == 0
    assert again.replayed == again.commands == report.commands
    assert again.refused == 0
    assert again.sample_tickets == report.sample_tickets


def test_after_a_seed_the_policies_triage_route_and_escalate_and_say_why(tmp_path):
    """The issue's "done when": seeded tickets nobody picked up are routed to the agents online,
    their long-missed SLAs escalated, and every message triaged; each step explained."""
    settings = Settings(database_url=f"sqlite:///{tmp_path}/seeded.db", policies=("triage", "routing", "escalation"))
    ledger = build_ledger(settings)
    report = seed_traffic(ledger, tickets=60, seed=11)
    assert report.waiting > 0
    store = build_read_store(settings)
    follower = build_follower(ledger, store, settings)
    follower.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            steps = [e for tenant in TENANTS for e in tenant_events(ledger, tenant) if e["actor"]["kind"] == "policy"]
            kinds = {(e["actor"]["id"], e["type"]) for e in steps}
            if {("triage", "Ticket.CategoryChanged"), ("routing", "Ticket.Assigned"),
                    ("escalation", "Ticket.Escalated")} <= kinds or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        follower.stop()
    assert {("triage", "Ticket.CategoryChanged"), ("routing", "Ticket.Assigned"), ("escalation", "Ticket.Escalated")} <= kinds
    assert all(e["reason"] and e["causation_id"] for e in steps if e["type"] != "CommandReceipt.CommandHandled")
    assert all(e["decision"] for e in steps if e["type"] in ("Ticket.Assigned", "Ticket.Escalated", "Ticket.CategoryChanged"))
