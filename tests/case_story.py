"""One order's story for the case-file tests: a buyer writes on Taobao and by email about the same
order, triage categorises the first ticket, its first-reply SLA is missed and the escalation policy
makes it urgent, an agent replies late and solves it. Times are the test's stepping clock."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from ledgerdesk.application import commands as c
from ledgerdesk.application.escalation_policy import EscalationPolicy
from ledgerdesk.application.policy import run_policy
from ledgerdesk.application.triage_policy import TriagePolicy
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.domain.ticket_values import TicketStatus
from ledgerdesk.projections.policy_consumer import PolicyConsumer
from ledgerdesk.projections.projector import Projector
from ledgerdesk.projections.sla.due_clocks import ReadModelSlaTimers, SlaClockTimers
from tests.conftest import random_ref

FIRST_REPLY_SECONDS = 600
HOSTILE = "<script>alert('case')</script>"


@dataclass
class Story:
    tenant: str
    order_id: str
    customer_id: str
    taobao_ticket: str
    email_ticket: str
    opened_at: datetime
    middle: datetime  # after both messages and triage, before the breach, the reply and the solve


def _context(tenant: str, actor: Actor) -> c.CommandContext:
    command_id = str(uuid4())
    return c.CommandContext(tenant=tenant, actor=actor, command_id=command_id, correlation_id=command_id)


def _message(tenant: str, channel: Channel, thread: str, user: str, text: str, order_id: str, email: str,
             sent_at: datetime) -> c.ReceiveInboundMessage:
    return c.ReceiveInboundMessage(
        _context(tenant, Actor(ActorKind.INTEGRATOR, f"{channel}-connector")), channel, thread, user, random_ref("msg-"), text,
        sent_at, c.CustomerHints(email=email, name="李雷"), order_id=order_id)


def tell_story(ledger, read_store, projector: Projector, clock, tenant: str | None = None) -> Story:  # type: ignore[no-untyped-def]
    tenant, order_id, email = tenant or random_ref("shop-"), random_ref("TB-"), random_ref("buyer-") + "@example.com"
    admin = Actor(ActorKind.AGENT, "admin-abe")
    ledger.execute(c.DefineSlaPolicy(
        _context(tenant, admin), name="Fast first reply", rank=1, match={}, targets={"first_reply": FIRST_REPLY_SECONDS},
        warning_percent=90, escalation={"on_warning": {"notify": False},
                                        "on_breach": {"raise_priority_to": "urgent", "notify": True}}))
    projector.catch_up()
    triage = PolicyConsumer(TriagePolicy(), ledger)
    read_store.register([triage.name])
    triaging = Projector(read_store, ledger.recorder, [triage])

    first = ledger.execute(_message(tenant, Channel.TAOBAO, random_ref("tb-thread-"), random_ref("tb-buyer-"),
                                    f"我要退款，订单{order_id}还没发货 {HOSTILE}", order_id, email, clock.now)).result
    taobao_ticket = first["ticket_id"]
    opened_at = ledger.aggregate(tenant, Ticket, UUID(taobao_ticket)).created_on
    triaging.catch_up()  # policy:triage sets the category, caused by the customer's message
    second = ledger.execute(_message(tenant, Channel.EMAIL, f"<{random_ref()}@example.com>", email,
                                     f"Where is my parcel? Order {order_id}", order_id, email, clock.now)).result
    triaging.catch_up()
    projector.catch_up()
    middle = clock.now + timedelta(milliseconds=500)

    # Past both tickets' first-reply due times: each command reads the clock, and a retried one
    # (a conflict on a busy database) reads it again, so the second ticket's time is not fixed.
    second_opened = ledger.aggregate(tenant, Ticket, UUID(second["ticket_id"])).created_on
    clock.now = max(opened_at, second_opened) + timedelta(seconds=FIRST_REPLY_SECONDS + 1)
    sweep_at = clock.now

    def deliver(trigger):  # type: ignore[no-untyped-def]
        if trigger.tenant == tenant:  # the PostgreSQL database is shared by the session's tests
            run_policy(EscalationPolicy(ReadModelSlaTimers(read_store, lambda: sweep_at)), trigger, ledger)

    # Every due timer, not a sweep's first 500: on the shared database other tests' clocks are due too.
    for trigger in SlaClockTimers(read_store).due(sweep_at, 1_000_000):
        deliver(trigger)
    agent = Actor(ActorKind.AGENT, "li.na")
    clock.now += timedelta(minutes=5)
    ledger.execute(c.ReplyToTicket(_context(tenant, agent), UUID(taobao_ticket), "您好，已为您催促发货，退款会在今天处理"))
    clock.now += timedelta(minutes=30)
    ledger.execute(c.ChangeTicketStatus(_context(tenant, agent), UUID(taobao_ticket), TicketStatus.SOLVED))
    projector.catch_up()
    triaging.catch_up()
    return Story(tenant, order_id, first["customer_id"], taobao_ticket, second["ticket_id"], opened_at, middle)
