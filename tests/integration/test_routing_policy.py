"""Routing as a policy: a ticket goes to an online agent with its language, under capacity; when
nobody qualifies it waits, and it is routed as soon as a slot frees up; the history says why
([policies]). Capacity holds with several routers at once: the slot is taken on the Agent
aggregate in the same append as the assignment."""
from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from ledgerdesk.application import commands as c
from ledgerdesk.application.routing_policy import RoutingPolicy
from ledgerdesk.domain.agent import Agent
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.application.policy import run_policy
from ledgerdesk.projections.agents.offline_timers import OfflineGraceTimers
from ledgerdesk.projections.catalog import all_read_models
from ledgerdesk.projections.policy_consumer import PolicyConsumer
from ledgerdesk.projections.projector import Projector
from ledgerdesk.projections.routing_directory import ReadModelRoutingDirectory
from ledgerdesk.projections.timer_sweep import TimerSweep
from tests.conftest import random_ref
from tests.integration.test_concurrency import at_once, context, extra_ledgers, inbound

pytestmark = pytest.mark.integration


@pytest.fixture
def routing(ledger, read_store) -> Projector:
    consumer = PolicyConsumer(RoutingPolicy(ReadModelRoutingDirectory(read_store)), ledger)
    models = [*all_read_models(), consumer]
    read_store.register(m.name for m in models)
    projector = Projector(read_store, ledger.recorder, models)
    projector.catch_up()
    return projector


def agent(ledger, tenant: str, agent_id: str, language: str, capacity: int = 1, online: bool = True) -> None:  # type: ignore[no-untyped-def]
    ledger.execute(c.PutAgent(context(tenant), agent_id, agent_id, ("support",),
                              {"languages": [language], "categories": [], "channels": []}, capacity))
    if online:
        ledger.execute(c.ChangeAgentPresence(context(tenant), agent_id, "online"))


def assignee(ledger, tenant: str, ticket: str) -> str | None:  # type: ignore[no-untyped-def]
    return ledger.aggregate(tenant, Ticket, UUID(ticket)).assignee_id


def until_quiet(projector: Projector) -> None:
    """A policy's commands are events too: follow until nothing new comes."""
    for _ in range(10):
        if not projector.catch_up():
            return


def test_tickets_go_by_language_wait_when_nobody_is_free_and_are_routed_when_a_slot_frees(ledger, routing) -> None:
    tenant = random_ref("tenant-")
    agent(ledger, tenant, "agent-zh", "zh")
    agent(ledger, tenant, "agent-en", "en")
    until_quiet(routing)  # the agents are on shift before the customers write
    zh = ledger.execute(inbound(tenant, text="你好，我买的茶叶到现在还没有发货，麻烦帮我看一下订单")).result["ticket_id"]
    en = ledger.execute(inbound(tenant, text="Hello, my parcel has not arrived yet, could you check the order please?",
                                channel=Channel.EMAIL)).result["ticket_id"]
    until_quiet(routing)
    assert assignee(ledger, tenant, zh) == "agent-zh" and assignee(ledger, tenant, en) == "agent-en"

    waiting = ledger.execute(inbound(tenant, text="请问退款什么时候到账？已经一个星期了")).result["ticket_id"]
    until_quiet(routing)
    assert assignee(ledger, tenant, waiting) is None  # agent-zh holds its one slot

    ledger.execute(c.ChangeTicketStatus(context(tenant), UUID(zh), status="solved"))
    until_quiet(routing)
    assert assignee(ledger, tenant, waiting) == "agent-zh"

    history = ledger.history(tenant, Ticket, UUID(zh), 0, 1000)["items"]
    message = next(e for e in history if e["type"] == "Ticket.CustomerMessageAdded")
    assigned = next(e for e in history if e["type"] == "Ticket.Assigned")
    assert assigned["actor"] == {"kind": "policy", "id": "routing"} and assigned["causation_id"] == message["id"]
    assert assigned["reason"].startswith("assigned to agent agent-zh") and "zh" in assigned["reason"]
    # The inputs it weighed travel with it: the ticket's needs and each candidate, as it stood.
    weighed = assigned["decision"]
    assert weighed["chosen"] == "agent-zh" and weighed["ticket"]["language"] == "zh"
    [chosen] = [agent for agent in weighed["candidates"] if agent["agent_id"] == "agent-zh"]
    assert chosen["languages"] == ["zh"] and chosen["load"] == 0 and chosen["capacity"] == 1 and chosen["excluded"] is None


def test_an_offline_agent_gets_nothing_until_online(ledger, routing) -> None:
    tenant = random_ref("tenant-")
    agent(ledger, tenant, "li.na", "zh", online=False)
    ticket = ledger.execute(inbound(tenant, text="包裹三天了还没到")).result["ticket_id"]
    until_quiet(routing)
    assert assignee(ledger, tenant, ticket) is None
    ledger.execute(c.ChangeAgentPresence(context(tenant), "li.na", "online"))
    until_quiet(routing)
    assert assignee(ledger, tenant, ticket) == "li.na"


def test_routers_in_several_processes_never_fill_an_agent_past_capacity(ledger, settings) -> None:
    tenant = random_ref("tenant-")
    agent(ledger, tenant, "solo", "zh", capacity=2)
    tickets = [UUID(ledger.execute(inbound(tenant, text="我的订单在哪里")).result["ticket_id"]) for _ in range(6)]
    with extra_ledgers(settings, 3) as others:
        routers = [ledger, *others]
        answers = at_once([
            (lambda app=routers[i % len(routers)], t=t: app.execute(c.RouteTicket(context(tenant), t, candidates=("solo",))))
            for i, t in enumerate(tickets)
        ])
    assert not [a for a in answers if isinstance(a, Exception)], answers
    assert sum(1 for a in answers if a.result["routed"]) == 2
    solo = ledger.aggregate(tenant, Agent, Agent.id_for(tenant, "solo"))
    assert solo.load == 2 and sorted(assignee(ledger, tenant, str(t)) or "" for t in tickets).count("solo") == 2


def test_a_ticket_nobody_can_take_is_queued_once_with_the_reason(ledger, routing) -> None:
    """Every message to a shop whose agents are all busy would otherwise store a receipt for a
    decision that changed nothing; the ticket's history says once that it waits, and why."""
    tenant = random_ref("tenant-")
    agent(ledger, tenant, "busy", "zh", online=False)
    until_quiet(routing)
    ticket = UUID(ledger.execute(inbound(tenant, text="有人吗", thread="t1")).result["ticket_id"])
    until_quiet(routing)
    queued = [e for e in ledger.history(tenant, Ticket, ticket, 0, 100)["items"] if e["type"] == "Ticket.Queued"]
    assert len(queued) == 1 and queued[0]["actor"] == {"kind": "policy", "id": "routing"}
    assert "1 qualified, offline" in queued[0]["reason"]
    assert queued[0]["decision"]["candidates"][0]["excluded"] == "offline"

    ledger.execute(inbound(tenant, text="还在吗？", thread="t1"))
    head = ledger.recorder.max_notification_id()
    until_quiet(routing)
    assert ledger.recorder.max_notification_id() == head  # still waiting: nothing more to say


def test_a_tenant_without_agents_does_not_route_and_its_tickets_stay_as_they_are(ledger, routing) -> None:
    tenant = random_ref("tenant-")
    ledger.execute(inbound(tenant, text="Is anybody there?"))
    head = ledger.recorder.max_notification_id()
    until_quiet(routing)
    assert ledger.recorder.max_notification_id() == head


# -- found by a hostile run of the branch -----------------------------------------------------


def slots(ledger, tenant: str, agent_id: str) -> int:  # type: ignore[no-untyped-def]
    return ledger.aggregate(tenant, Agent, Agent.id_for(tenant, agent_id)).load


def test_a_free_form_assignee_parks_nothing_and_routing_goes_on(ledger, routing, read_store) -> None:
    """Trial: a manual assignment to "李 娜" (no agent can have that id), then unassigning it, parked
    the trigger and held the tenant in policy:routing."""
    tenant = random_ref("tenant-")
    ticket = ledger.execute(inbound(tenant, text="在吗")).result["ticket_id"]
    ledger.execute(c.AssignTicket(context(tenant), UUID(ticket), agent_id="李 娜"))
    ledger.execute(c.UnassignTicket(context(tenant), UUID(ticket)))
    until_quiet(routing)
    from ledgerdesk.projections import parking
    with read_store.reading() as conn:
        assert [p for p in parking.parked_events(conn, {"policy:routing": 1}) if p.tenant == tenant] == []
    agent(ledger, tenant, "li.na", "zh")
    until_quiet(routing)
    assert assignee(ledger, tenant, ticket) == "li.na"


def test_an_agent_coming_online_is_a_candidate_even_before_the_read_model_saw_it(ledger, read_store) -> None:
    """Trial: the agents read model had not yet seen the presence change, so the agent that came
    online was left out of its own routing of the waiting tickets."""

    class Stale(ReadModelRoutingDirectory):
        def agent_ids(self, tenant: str, needs) -> list[str]:  # type: ignore[no-untyped-def]
            return []

    consumer = PolicyConsumer(RoutingPolicy(Stale(read_store)), ledger)
    models = [*all_read_models(), consumer]
    read_store.register(m.name for m in models)
    projector = Projector(read_store, ledger.recorder, models)
    projector.catch_up()
    tenant = random_ref("tenant-")
    ticket = ledger.execute(inbound(tenant, text="包裹呢")).result["ticket_id"]
    agent(ledger, tenant, "wang.wei", "zh")
    until_quiet(projector)
    assert assignee(ledger, tenant, ticket) == "wang.wei"


def test_a_reopened_ticket_takes_its_slot_again_and_a_reassigned_one_frees_it(ledger, routing) -> None:
    """Trials: solving then reopening left the agent's slot free, so routing filled it past
    capacity; giving a routed ticket to another agent or a team never freed the first's slot."""
    tenant = random_ref("tenant-")
    agent(ledger, tenant, "d1", "zh")
    until_quiet(routing)
    ticket = UUID(ledger.execute(inbound(tenant, text="我的订单在哪里")).result["ticket_id"])
    until_quiet(routing)
    assert assignee(ledger, tenant, str(ticket)) == "d1" and slots(ledger, tenant, "d1") == 1
    ledger.execute(c.ChangeTicketStatus(context(tenant), ticket, status="solved"))
    until_quiet(routing)
    assert slots(ledger, tenant, "d1") == 0
    ledger.execute(c.ChangeTicketStatus(context(tenant), ticket, status="open"))
    until_quiet(routing)
    assert slots(ledger, tenant, "d1") == 1
    other = ledger.execute(inbound(tenant, text="还有一个问题")).result["ticket_id"]
    until_quiet(routing)
    assert assignee(ledger, tenant, other) is None  # d1 is full again: capacity 1

    ledger.execute(c.AssignTicket(context(tenant), ticket, agent_id="someone.else"))
    until_quiet(routing)
    assert slots(ledger, tenant, "d1") == 1 and assignee(ledger, tenant, other) == "d1"  # freed, then refilled
    ledger.execute(c.AssignTicket(context(tenant), UUID(other), team_id="returns"))
    until_quiet(routing)
    assert slots(ledger, tenant, "d1") == 0


def test_a_reopened_ticket_whose_agent_is_full_goes_to_an_agent_with_room(ledger, routing) -> None:
    """Found by the routing soak: the agent, full again by the time the customer wrote back, could
    not take the slot, and the ticket stayed theirs with no slot held (capacity no longer counted it)."""
    tenant = random_ref("tenant-")
    agent(ledger, tenant, "d1", "zh")
    until_quiet(routing)
    ticket = UUID(ledger.execute(inbound(tenant, text="我的订单在哪里", thread="t1")).result["ticket_id"])
    until_quiet(routing)
    ledger.execute(c.ChangeTicketStatus(context(tenant), ticket, status="solved"))
    until_quiet(routing)
    other = ledger.execute(inbound(tenant, text="还有一个问题")).result["ticket_id"]
    until_quiet(routing)
    assert assignee(ledger, tenant, other) == "d1" and slots(ledger, tenant, "d1") == 1  # full: capacity 1
    agent(ledger, tenant, "d2", "zh")
    until_quiet(routing)

    ledger.execute(inbound(tenant, text="又出问题了", thread="t1"))  # reopens the solved ticket
    until_quiet(routing)
    assert assignee(ledger, tenant, str(ticket)) == "d2"
    assert slots(ledger, tenant, "d1") == 1 and slots(ledger, tenant, "d2") == 1
    unassigned = [e for e in ledger.history(tenant, Ticket, ticket, 0, 100)["items"] if e["type"] == "Ticket.Unassigned"]
    assert len(unassigned) == 1 and "agent d1 holds 1 tickets, its capacity is 1" in unassigned[0]["reason"]


# -- agents who go offline --------------------------------------------------------------------


def grace_sweep(ledger, read_store, routing_policy, now):  # type: ignore[no-untyped-def]
    return TimerSweep([OfflineGraceTimers(read_store, timedelta(minutes=10))],
                      lambda trigger: run_policy(routing_policy, trigger, ledger), clock=lambda: now[0])


def test_an_agent_offline_past_the_grace_period_has_their_tickets_routed_to_others(ledger, routing, read_store) -> None:
    tenant = random_ref("tenant-")
    agent(ledger, tenant, "day", "zh", capacity=2)
    ticket = ledger.execute(inbound(tenant, text="退款到哪了")).result["ticket_id"]
    until_quiet(routing)
    assert assignee(ledger, tenant, ticket) == "day"
    ledger.execute(c.ChangeAgentPresence(context(tenant), "day", "offline"))
    agent(ledger, tenant, "night", "zh")
    until_quiet(routing)
    left = ledger.aggregate(tenant, Agent, Agent.id_for(tenant, "day")).presence_since
    now = [left + timedelta(minutes=10) - timedelta(seconds=1)]
    sweep = grace_sweep(ledger, read_store, routing.models[-1].policy, now)
    assert sweep.seconds_to_next(now[0]) <= 1
    sweep.sweep()
    assert assignee(ledger, tenant, ticket) == "day"  # within the grace period: theirs still

    now[0] += timedelta(seconds=1)
    sweep.sweep()
    sweep.sweep()  # fired again before the read models saw it: the same command, nothing twice
    until_quiet(routing)
    assert assignee(ledger, tenant, ticket) == "night"
    assert slots(ledger, tenant, "day") == 0 and slots(ledger, tenant, "night") == 1
    history = ledger.history(tenant, Ticket, UUID(ticket), 0, 100)["items"]
    unassigned = [e for e in history if e["type"] == "Ticket.Unassigned"]
    assert len(unassigned) == 1 and "offline since" in unassigned[0]["reason"]
    assert unassigned[0]["actor"] == {"kind": "policy", "id": "routing"}


def test_an_agent_back_before_the_grace_period_ends_keeps_their_tickets(ledger, routing, read_store) -> None:
    tenant = random_ref("tenant-")
    agent(ledger, tenant, "flaky", "zh")
    ticket = ledger.execute(inbound(tenant, text="在吗")).result["ticket_id"]
    until_quiet(routing)
    ledger.execute(c.ChangeAgentPresence(context(tenant), "flaky", "offline"))
    until_quiet(routing)
    left = ledger.aggregate(tenant, Agent, Agent.id_for(tenant, "flaky")).presence_since
    now = [left + timedelta(minutes=11)]
    sweep = grace_sweep(ledger, read_store, routing.models[-1].policy, now)
    due = [t for t in OfflineGraceTimers(read_store, timedelta(minutes=10)).due(now[0], 500) if t.tenant == tenant]
    ledger.execute(c.ChangeAgentPresence(context(tenant), "flaky", "online"))  # back, the read models not yet aware
    for trigger in due:
        run_policy(routing.models[-1].policy, trigger, ledger)
    until_quiet(routing)
    sweep.sweep()
    assert assignee(ledger, tenant, ticket) == "flaky"


def test_unassigning_a_routed_ticket_frees_the_slot_and_routes_it_again(ledger, routing) -> None:
    """Found while adding reclaiming: an Unassigned event never gave the agent's slot back."""
    tenant = random_ref("tenant-")
    agent(ledger, tenant, "a1", "zh")
    ticket = UUID(ledger.execute(inbound(tenant, text="发票怎么开")).result["ticket_id"])
    until_quiet(routing)
    assert assignee(ledger, tenant, str(ticket)) == "a1"
    ledger.execute(c.UnassignTicket(context(tenant), ticket))
    until_quiet(routing)
    assert assignee(ledger, tenant, str(ticket)) == "a1" and slots(ledger, tenant, "a1") == 1  # the only one free


def test_an_agent_full_for_chats_still_takes_an_email(ledger, routing) -> None:
    tenant = random_ref("tenant-")
    ledger.execute(c.PutAgent(context(tenant), "mix", "mix", (), {"languages": ["zh"]}, 3,
                              capacity_by_channel_kind={"chat": 1}))
    ledger.execute(c.ChangeAgentPresence(context(tenant), "mix", "online"))
    until_quiet(routing)
    first = ledger.execute(inbound(tenant, text="在吗，我的包裹呢", channel=Channel.TAOBAO)).result["ticket_id"]
    second = ledger.execute(inbound(tenant, text="退款什么时候到", channel=Channel.JD)).result["ticket_id"]
    mail = ledger.execute(inbound(tenant, text="请问发票怎么开？", channel=Channel.EMAIL)).result["ticket_id"]
    until_quiet(routing)
    assert [assignee(ledger, tenant, t) for t in (first, second, mail)] == ["mix", None, "mix"]
    queued = [e for e in ledger.history(tenant, Ticket, UUID(second), 0, 100)["items"] if e["type"] == "Ticket.Queued"]
    assert len(queued) == 1 and "full" in queued[0]["reason"]
    agent_now = ledger.aggregate(tenant, Agent, Agent.id_for(tenant, "mix"))
    assert agent_now.load_of("chat") == 1 and agent_now.load_of("email") == 1


def test_a_router_ahead_of_the_read_models_waits_for_them_to_reach_its_trigger(ledger, read_store) -> None:
    """Acceptance run: the routing follower took the message before the agents read model had seen
    the agent come online just before it, found nobody and queued the ticket for good."""
    import threading

    from ledgerdesk.projections.policy_runner import PolicyRunner

    tenant = random_ref("tenant-")
    read_models = Projector(read_store, ledger.recorder, all_read_models())
    read_models.catch_up()
    consumer = PolicyConsumer(RoutingPolicy(ReadModelRoutingDirectory(read_store)), ledger)
    read_store.register([consumer.name])
    runner = PolicyRunner(read_store, ledger.recorder, [consumer])
    runner.catch_up()
    agent(ledger, tenant, "late.online", "zh")
    ticket = ledger.execute(inbound(tenant, text="你好，包裹到哪里了")).result["ticket_id"]
    later = threading.Timer(0.1, read_models.catch_up)  # the read models' follower, a moment behind
    later.start()
    runner.catch_up()
    later.join()
    assert assignee(ledger, tenant, ticket) == "late.online"
