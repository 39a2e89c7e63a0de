"""SLA escalation as a policy fired by durable timers ([policies]): a clock reaching its warning or
its due time escalates the ticket as its SLA policy says, once per level, whoever fires the timer
and however often; a clock answered, paused or re-targeted first escalates nothing; and the
history says why."""
from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

import orjson

import pytest
from eventsourcing.persistence import StoredEvent

from ledgerdesk.application import commands as c
from ledgerdesk.application.escalation_policy import EscalationPolicy, timer_trigger
from ledgerdesk.application.policy import run_policy
from ledgerdesk.domain.sla_policy import DEFAULT_ESCALATION, SlaPolicy
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.projections.sla.due_clocks import SlaClockTimers
from ledgerdesk.projections.timer_sweep import TimerSweep
from ledgerdesk.projections.sla import queries as sla_queries
from ledgerdesk.projections.sla.due_clocks import ReadModelSlaTimers
from tests.conftest import random_ref
from tests.integration.test_concurrency import context, inbound

pytestmark = pytest.mark.integration

FIRST_REPLY = 600  # seconds: the warning at 50% is 5 minutes in, the due time 10 minutes in


class Now:
    """The sweep's wall clock, set by the test."""

    def __init__(self) -> None:
        self.at = datetime(2026, 1, 1).astimezone()

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
def escalation(ledger, read_store, now) -> EscalationPolicy:
    return EscalationPolicy(ReadModelSlaTimers(read_store, now))


class Sweep:
    """The sweep, answering how many timers it fired for one tenant (the PostgreSQL database is
    shared by the session's tests, whose clocks the sweep sees too)."""

    def __init__(self, sweep: TimerSweep, fired: list) -> None:
        self.inner, self.fired = sweep, fired
        self.tenant: str | None = None
        self.seconds_to_next = sweep.seconds_to_next

    def sweep(self, tenant: str) -> int:
        self.fired.clear()
        self.tenant = tenant
        self.inner.sweep()
        return sum(1 for trigger in self.fired if trigger.tenant == tenant)


@pytest.fixture
def sweep(ledger, read_store, escalation, now) -> Sweep:
    fired: list = []

    def deliver(trigger):  # type: ignore[no-untyped-def]
        fired.append(trigger)
        if trigger.tenant == swept.tenant:  # the session's other tests' clocks are due too: not theirs to escalate here
            run_policy(escalation, trigger, ledger)

    swept = Sweep(TimerSweep([SlaClockTimers(read_store)], deliver, clock=now), fired)
    return swept


def define_policy(ledger, tenant: str, escalation: dict | None = None) -> str:  # type: ignore[no-untyped-def]
    answer = ledger.execute(c.DefineSlaPolicy(
        context(tenant), name="fast", rank=1, match={}, targets={"first_reply": FIRST_REPLY}, warning_percent=50,
        escalation=escalation))
    return answer.result["sla_policy_id"]


def opened(ledger, projector, tenant: str) -> tuple[UUID, datetime]:  # type: ignore[no-untyped-def]
    ticket_id = UUID(ledger.execute(inbound(tenant, text="Where is my refund?")).result["ticket_id"])
    projector.catch_up()
    return ticket_id, ledger.aggregate(tenant, Ticket, ticket_id).created_on


def history(ledger, tenant: str, ticket_id: UUID) -> list[dict]:  # type: ignore[no-untyped-def]
    return ledger.history(tenant, Ticket, ticket_id, 0, 1000)["items"]


def escalations(ledger, tenant: str, ticket_id: UUID) -> list[dict]:  # type: ignore[no-untyped-def]
    return [e for e in history(ledger, tenant, ticket_id) if e["type"] == "Ticket.Escalated"]


BREACH_TO_TEAM = {"on_warning": {"notify": True},
                  "on_breach": {"raise_priority_to": "urgent", "transfer_to_team": "escalations", "notify": True}}


def test_a_warning_and_a_breach_each_escalate_once_with_the_reason_in_the_history(ledger, projector, sweep, now) -> None:
    tenant = random_ref("t-")
    define_policy(ledger, tenant, BREACH_TO_TEAM)
    projector.catch_up()
    ticket_id, opened_at = opened(ledger, projector, tenant)

    now.at = opened_at + timedelta(seconds=FIRST_REPLY // 2 - 1)
    assert sweep.sweep(tenant) == 0 and escalations(ledger, tenant, ticket_id) == []
    assert sweep.seconds_to_next(now.at) <= 1  # it wakes for the warning, if not for another's sooner

    now.at = opened_at + timedelta(seconds=FIRST_REPLY // 2)
    assert sweep.sweep(tenant) == 1
    assert sweep.sweep(tenant) == 1  # the read model has not seen it yet: fired again, escalated once
    projector.catch_up()
    assert sweep.sweep(tenant) == 0
    [warning] = escalations(ledger, tenant, ticket_id)
    assert warning["data"]["levels"] == ["warning"] and warning["data"]["notify"] is True
    assert warning["actor"] == {"kind": "policy", "id": "escalation"}
    assert "first_reply SLA reached its warning" in warning["reason"]
    assert warning["decision"]["clock"]["metric"] == "first_reply" and warning["decision"]["settings"]["on_breach"]["transfer_to_team"] == "escalations"
    message = next(e for e in history(ledger, tenant, ticket_id) if e["type"] == "Ticket.CustomerMessageAdded")
    assert warning["causation_id"] == message["id"]  # the last event before the timer: the clock it started

    now.at = opened_at + timedelta(seconds=FIRST_REPLY + 1)
    assert sweep.sweep(tenant) == 1
    projector.catch_up()
    assert sweep.sweep(tenant) == 0
    ticket = ledger.aggregate(tenant, Ticket, ticket_id)
    assert str(ticket.priority) == "urgent" and ticket.team_id == "escalations" and ticket.assignee_id is None
    breach = escalations(ledger, tenant, ticket_id)[-1]
    assert breach["data"]["levels"] == ["breach"]
    caused = [e for e in history(ledger, tenant, ticket_id) if e["causation_id"] == breach["id"]]
    assert [e["type"] for e in caused] == ["Ticket.PriorityChanged", "Ticket.TransferredToTeam"]
    assert all(e["actor"]["kind"] == "policy" for e in caused)


def test_a_timer_fired_twice_by_message_and_sweep_escalates_once(ledger, projector, escalation, now) -> None:
    tenant = random_ref("t-")
    define_policy(ledger, tenant)
    projector.catch_up()
    ticket_id, opened_at = opened(ledger, projector, tenant)
    now.at = opened_at + timedelta(seconds=FIRST_REPLY + 5)
    trigger = timer_trigger(tenant, str(ticket_id), "first_reply", 1, "breach")
    appended = [run_policy(escalation, trigger, ledger) for _ in range(3)]
    assert appended == [1, 0, 0]
    [breach] = escalations(ledger, tenant, ticket_id)
    assert breach["data"]["levels"] == ["warning", "breach"]  # found breached: the warning is passed with it


def test_a_clock_paused_before_its_warning_escalates_nothing_while_it_waits(ledger, projector, read_store, sweep, now) -> None:
    tenant = random_ref("t-")
    ledger.execute(c.DefineSlaPolicy(context(tenant), name="resolve", rank=1, match={}, targets={"resolution": 1000},
                                     warning_percent=50))
    projector.catch_up()
    waiting, opened_at = opened(ledger, projector, tenant)
    ledger.execute(c.ReplyToTicket(context(tenant), waiting, text="Could you send the order number?"))
    ledger.execute(c.ChangeTicketStatus(context(tenant), waiting, status="pending"))
    running, _ = opened(ledger, projector, tenant)
    projector.catch_up()
    now.at = opened_at + timedelta(seconds=900)  # past the warning (500 s in), before the due time
    sweep.sweep(tenant)
    projector.catch_up()
    assert [clock["state"] for clock in sla_queries.ticket_sla(read_store, tenant, str(waiting), now.at)["clocks"]] == ["paused"]
    assert escalations(ledger, tenant, waiting) == []
    assert [e["data"]["levels"] for e in escalations(ledger, tenant, running)] == [["warning"]]


def test_a_clock_answered_or_retargeted_before_its_time_escalates_nothing(ledger, projector, sweep, now) -> None:
    tenant = random_ref("t-")
    define_policy(ledger, tenant)
    ledger.execute(c.DefineSlaPolicy(context(tenant), name="vip", rank=0, match={"priorities": ["high"]},
                                     targets={"first_reply": 100 * FIRST_REPLY}))
    projector.catch_up()
    answered, opened_at = opened(ledger, projector, tenant)
    ledger.execute(c.ReplyToTicket(context(tenant), answered, text="Looking into it now."))
    retargeted, _ = opened(ledger, projector, tenant)
    ledger.execute(c.ChangeTicketPriority(context(tenant), retargeted, priority="high"))  # now under "vip"
    projector.catch_up()

    now.at = opened_at + timedelta(seconds=FIRST_REPLY * 2)
    sweep.sweep(tenant)
    projector.catch_up()
    for name, ticket_id in (("answered", answered), ("retargeted", retargeted)):
        assert escalations(ledger, tenant, ticket_id) == [], name


def test_a_ticket_changed_after_its_clock_was_read_is_read_again_not_escalated(ledger, projector, sweep, now) -> None:
    tenant = random_ref("t-")
    define_policy(ledger, tenant)
    projector.catch_up()
    ticket_id, opened_at = opened(ledger, projector, tenant)
    ledger.execute(c.ReplyToTicket(context(tenant), ticket_id, text="On it."))  # the read model has not seen it
    now.at = opened_at + timedelta(seconds=FIRST_REPLY * 2)
    assert sweep.sweep(tenant) > 0  # fired on the stale reading, refused by the ticket
    assert escalations(ledger, tenant, ticket_id) == []
    projector.catch_up()
    assert sweep.sweep(tenant) == 0  # answered in time: nothing owed


def test_a_tenant_without_escalation_settings_gets_the_defaults(ledger, projector, sweep, now) -> None:
    tenant = random_ref("t-")
    ticket_id, opened_at = opened(ledger, projector, tenant)  # the default policy: first reply in 8 hours
    now.at = opened_at + timedelta(hours=9)
    assert sweep.sweep(tenant) == 2  # the warning's timer and the breach's: the first does both, the second nothing
    ticket = ledger.aggregate(tenant, Ticket, ticket_id)
    assert str(ticket.priority) == "urgent" and ticket.team_id is None
    assert [e["data"]["levels"] for e in escalations(ledger, tenant, ticket_id)] == [["warning", "breach"]]


def test_a_policy_stored_before_escalation_existed_loads_projects_and_escalates_by_the_defaults(
        ledger, projector, read_store, sweep, now) -> None:
    """Version 1 of SlaPolicy.Defined had no escalation and no class_version: such a stored event,
    byte for byte as it was written then, still loads (upcast), shows and projects."""
    tenant = random_ref("t-")
    current = ledger.recorder.select_events(UUID(define_policy(ledger, tenant)))[0]
    state = orjson.loads(current.state)
    del state["escalation"], state["class_version"]
    old_id = uuid4()
    ledger.recorder.insert_events([StoredEvent(old_id, 1, current.topic, orjson.dumps(state))])

    policy = ledger.aggregate(tenant, SlaPolicy, old_id)
    assert policy.escalation == DEFAULT_ESCALATION and policy.targets["first_reply"] == FIRST_REPLY
    [defined] = ledger.history(tenant, SlaPolicy, old_id, 0, 10)["items"]
    assert "escalation" not in defined["data"] and "class_version" not in defined["data"]
    projector.catch_up()
    shown = next(p for p in sla_queries.sla_policies(read_store, tenant) if p["id"] == str(old_id))
    assert shown["escalation"] == DEFAULT_ESCALATION


def test_a_breach_hands_the_ticket_to_the_escalation_team_of_its_team(ledger, projector, sweep, now) -> None:
    tenant = random_ref("t-")
    ledger.execute(c.PutTeam(context(tenant), "refunds", "Refunds", "refund-leads"))
    define_policy(ledger, tenant, {"on_breach": {"transfer_to_escalation_team": True}})
    projector.catch_up()
    ticket_id, opened_at = opened(ledger, projector, tenant)
    ledger.execute(c.AssignTicket(context(tenant), ticket_id, agent_id=None, team_id="refunds"))
    without_team, _ = opened(ledger, projector, tenant)  # no team, so no escalation team: nothing to hand over
    projector.catch_up()
    now.at = opened_at + timedelta(seconds=FIRST_REPLY + 1)
    sweep.sweep(tenant)
    assert ledger.aggregate(tenant, Ticket, ticket_id).team_id == "refund-leads"
    assert ledger.aggregate(tenant, Ticket, without_team).team_id is None
    breach = escalations(ledger, tenant, ticket_id)[-1]
    assert "escalation team refund-leads" in breach["reason"] and breach["decision"]["escalation_team"] == "refund-leads"


def test_a_timer_fired_again_later_replays_the_first_answer_though_the_clock_was_read_anew(ledger, projector, escalation, now) -> None:
    """Trial: the second firing of a timer whose escalation was stored read the clock at a later
    instant, so its command differed from the stored one and was refused as a reused key."""
    tenant = random_ref("t-")
    define_policy(ledger, tenant)
    projector.catch_up()
    ticket_id, opened_at = opened(ledger, projector, tenant)
    trigger = timer_trigger(tenant, str(ticket_id), "first_reply", 1, "breach")
    now.at = opened_at + timedelta(seconds=FIRST_REPLY + 5)
    assert run_policy(escalation, trigger, ledger) == 1
    now.at += timedelta(seconds=30)  # the read model has not seen the escalation: the clock still owes it
    assert run_policy(escalation, trigger, ledger) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # a database of its own: the status counts every tenant's timers
def test_a_timer_owed_long_after_its_time_shows_the_sweep_stalled_until_a_sweep_fires_it(ledger, projector, read_store, sweep, now) -> None:
    tenant = random_ref("t-")
    define_policy(ledger, tenant)
    projector.catch_up()
    ticket_id, opened_at = opened(ledger, projector, tenant)
    status = TimerSweep([SlaClockTimers(read_store)], lambda _trigger: None, clock=now, interval=30).status
    warning_at = opened_at + timedelta(seconds=FIRST_REPLY // 2)

    now.at = warning_at + timedelta(seconds=119)  # late, but within two intervals and a minute
    assert status()["state"] == "running" and status()["overdue"] == 0
    now.at = warning_at + timedelta(seconds=121)
    late = status()
    assert late["state"] == "stalled" and late["overdue"] == 1
    assert datetime.fromisoformat(late["oldest_overdue_at"]) <= now.at - timedelta(seconds=120)

    assert sweep.sweep(tenant) == 1
    projector.catch_up()
    fired = status()
    assert fired["state"] == "running" and fired["overdue"] == 0 and fired["oldest_overdue_at"] is None
    assert now.at < datetime.fromisoformat(fired["next_at"]) <= opened_at + timedelta(seconds=FIRST_REPLY)  # the breach to come
