"""The agents' workload read model on real SQLite and PostgreSQL: open tickets follow assignments,
statuses, transfers and merges; following the log and a rebuild give equal rows."""
from __future__ import annotations

from uuid import UUID

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ledgerdesk.application import commands as c
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.ticket_values import TicketStatus
from ledgerdesk.interfaces.seed import TENANTS, seed_traffic
from ledgerdesk.projections.agents import queries as q
from ledgerdesk.projections.agents.projection import AgentWorkload
from ledgerdesk.projections.schema import metadata
from ledgerdesk.projections.verify import verify
from tests.conftest import random_ref

pytestmark = pytest.mark.integration


@pytest.fixture
def database_url(own_database_url: str) -> str:
    """The seeded test uses the seeder's fixed tenants: a database of its own."""
    return own_database_url


def ctx(tenant: str) -> c.CommandContext:
    command_id = random_ref("cmd-")
    return c.CommandContext(tenant, Actor(ActorKind.AGENT, "admin"), command_id, command_id)


def open_ticket(ledger: Ledger, tenant: str) -> UUID:
    hints = c.CustomerHints(email=f"{random_ref()}@example.com")
    return UUID(ledger.execute(c.OpenTicket(ctx(tenant), "Where is my parcel?", customer=hints)).result["ticket_id"])


def open_of(read_store, tenant: str, agent_id: str) -> list[UUID]:
    return [UUID(t["ticket_id"]) for t in q.open_tickets(read_store, tenant, agent_id)["open_tickets"]]


def test_open_tickets_follow_assignment_status_transfer_and_merge(ledger, read_store, projector):
    tenant = random_ref("shop-")
    ledger.execute(c.PutAgent(ctx(tenant), "li.na", "Li Na", ("logistics",), {}, 5))
    a, b, d, e = (open_ticket(ledger, tenant) for _ in range(4))
    for ticket in (a, b, d, e):
        ledger.execute(c.AssignTicket(ctx(tenant), ticket, agent_id="li.na"))
    ledger.execute(c.ChangeTicketStatus(ctx(tenant), a, status=TicketStatus.SOLVED))
    ledger.execute(c.ChangeTicketStatus(ctx(tenant), b, status=TicketStatus.PENDING))  # pending is still open
    ledger.execute(c.AssignTicket(ctx(tenant), d, team_id="refunds"))  # back to a team's queue
    ledger.execute(c.MergeTicket(ctx(tenant), e, into_ticket_id=b))
    projector.catch_up()

    assert set(open_of(read_store, tenant, "li.na")) == {b}
    [listed] = q.agents_list(read_store, tenant)["items"]
    assert (listed["agent_id"], listed["open_ticket_count"], listed["presence"]) == ("li.na", 1, "offline")

    ledger.execute(c.ChangeTicketStatus(ctx(tenant), a, status=TicketStatus.OPEN))  # reopened: back to its agent
    ledger.execute(c.UnassignTicket(ctx(tenant), b))
    ledger.execute(c.AssignTicket(ctx(tenant), d, agent_id="wang.wei"))  # no agent yet: counted all the same
    projector.catch_up()

    assert open_of(read_store, tenant, "li.na") == [a]
    assert open_of(read_store, tenant, "wang.wei") == [d]
    ledger.execute(c.PutAgent(ctx(tenant), "wang.wei", "Wang Wei", ("refunds",), {}, 5))
    projector.catch_up()
    assert [(i["agent_id"], i["open_ticket_count"]) for i in q.agents_list(read_store, tenant)["items"]] == [
        ("li.na", 1), ("wang.wei", 1)]
    assert [i["agent_id"] for i in q.agents_list(read_store, tenant, team="refunds")["items"]] == ["wang.wei"]

    [verdict] = verify(projector, [AgentWorkload()])
    assert verdict.equal, verdict


def test_profile_presence_and_held_slots_are_listed(ledger, read_store, projector):
    tenant = random_ref("shop-")
    ledger.execute(c.PutAgent(ctx(tenant), "li.na", "Li Na", ("logistics",), {"languages": ["zh"]}, 2))
    ledger.execute(c.ChangeAgentPresence(ctx(tenant), "li.na", "online"))
    ticket = open_ticket(ledger, tenant)
    ledger.execute(c.TakeTicket(ctx(tenant), "li.na", ticket))
    ledger.execute(c.PutAgent(ctx(tenant), "li.na", "Li Na", ("vip-desk",), {"languages": ["zh", "en"]}, 3))
    projector.catch_up()

    [agent] = q.agents_list(read_store, tenant, presence="online")["items"]
    assert (agent["teams"], agent["skills"]["languages"], agent["capacity"], agent["held_slots"], agent["version"]) == (
        ["vip-desk"], ["en", "zh"], 3, 1, 4)
    assert q.agents_list(read_store, tenant, team="logistics")["items"] == []
    assert q.agents_list(read_store, tenant, team="vip-desk")["items"] == [agent]

    ledger.execute(c.ReleaseTicket(ctx(tenant), "li.na", ticket))
    ledger.execute(c.ChangeAgentPresence(ctx(tenant), "li.na", "away"))
    projector.catch_up()
    [agent] = q.agents_list(read_store, tenant)["items"]
    assert (agent["held_slots"], agent["presence"]) == (0, "away")
    [verdict] = verify(projector, [AgentWorkload()])
    assert verdict.equal, verdict


def test_seeded_shops_have_agents_with_presence_and_open_tickets(ledger, read_store, projector):
    seed_traffic(ledger, tickets=30, seed=5)
    projector.catch_up()
    for tenant, (_, _, _, teams) in TENANTS.items():
        listed = q.agents_list(read_store, tenant)["items"]
        assert {a["agent_id"] for a in listed} == {agent for members in teams.values() for agent in members}
    everyone = [a for tenant in TENANTS for a in q.agents_list(read_store, tenant)["items"]]
    assert {a["presence"] for a in everyone} >= {"online"}
    assert sum(a["open_ticket_count"] for a in everyone) > 0
    [verdict] = verify(projector, [AgentWorkload()])
    assert verdict.equal, verdict


def test_the_migration_makes_the_tables_the_read_model_declares(read_store):
    names = {table.name for table in AgentWorkload.tables}
    with read_store.write_engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert [d for d in differences if any(name in repr(d) for name in names)] == []
