"""An agent's capacity holds under concurrent takes, on both backends: takes decided on the same
version cannot both be stored, and the loser, decided again on fresh state, is refused."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from ledgerdesk.application import commands as c
from ledgerdesk.application.agent_handlers import release_slot, take_slot, take_ticket
from ledgerdesk.application.errors import NotFound
from ledgerdesk.application.handlers import COMMAND_HANDLERS
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.application.unit_of_work import UnitOfWork
from ledgerdesk.domain.agent import Agent
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.errors import IllegalTransition
from tests.conftest import random_ref

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 11, 9, 30, tzinfo=timezone.utc)
BARRIER_TIMEOUT = 20


def context(tenant: str) -> c.CommandContext:
    command_id = str(uuid4())
    return c.CommandContext(tenant, Actor(ActorKind.POLICY, "router"), command_id, command_id)


def online_agent(ledger: Ledger, tenant: str, capacity: int) -> str:
    ledger.execute(c.PutAgent(context(tenant), "li.na", "Li Na", ("logistics",), {}, capacity))
    ledger.execute(c.ChangeAgentPresence(context(tenant), "li.na", "online"))
    return "li.na"


def tickets(ledger: Ledger, tenant: str, n: int) -> list[UUID]:
    hints = c.CustomerHints(email=f"{random_ref()}@example.com")
    return [UUID(ledger.execute(c.OpenTicket(context(tenant), "Where is my parcel?", customer=hints)).result["ticket_id"])
            for _ in range(n)]


def agent(ledger: Ledger, tenant: str) -> Agent:
    return ledger.aggregate(tenant, Agent, Agent.id_for(tenant, "li.na"))


def test_two_takes_decided_on_the_same_version_cannot_both_be_stored(ledger):
    tenant = random_ref("shop-")
    online_agent(ledger, tenant, capacity=1)
    first, second = tickets(ledger, tenant, 2)
    barrier = threading.Barrier(2, timeout=BARRIER_TIMEOUT)

    def take(ticket_id: UUID) -> str:
        uow = UnitOfWork(ledger.repository, context(tenant).meta(), AT)
        decided = take_slot(uow, "li.na", ticket_id)
        assert decided.load == 1  # each saw a free slot at the same version
        barrier.wait()
        try:
            ledger.save(*uow.changed())
        except IntegrityError:
            return "refused by the store"
        return "stored"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(take, [first, second]))

    assert outcomes == ["refused by the store", "stored"]
    stored = agent(ledger, tenant)
    assert stored.load == 1 and stored.version == 3


@pytest.mark.parametrize(("capacity", "takers"), [(1, 2), (2, 4)])
def test_concurrent_take_commands_never_exceed_capacity(ledger, monkeypatch, capacity, takers):
    tenant = random_ref("shop-")
    online_agent(ledger, tenant, capacity=capacity)
    wanted = tickets(ledger, tenant, takers)
    barrier = threading.Barrier(takers, timeout=BARRIER_TIMEOUT)
    first_attempt = threading.local()

    def decided_together(uow, cmd):  # type: ignore[no-untyped-def]
        answer = take_ticket(uow, cmd)
        if not getattr(first_attempt, "done", False):
            first_attempt.done = True
            barrier.wait()  # every taker decided on the same version before any appends
        return answer

    monkeypatch.setitem(COMMAND_HANDLERS, c.TakeTicket, decided_together)

    def take(ticket_id: UUID) -> str:
        try:
            ledger.execute(c.TakeTicket(context(tenant), "li.na", ticket_id))
        except IllegalTransition as refused:
            assert refused.field == "capacity"
            return "refused"
        return "taken"

    with ThreadPoolExecutor(takers) as pool:
        outcomes = list(pool.map(take, wanted))

    assert outcomes.count("taken") == capacity and outcomes.count("refused") == takers - capacity
    stored = agent(ledger, tenant)
    assert stored.load == capacity and set(stored.open_ticket_ids) <= set(wanted)


def test_release_frees_a_slot_and_take_checks_the_tenants_ticket(ledger):
    tenant = random_ref("shop-")
    online_agent(ledger, tenant, capacity=1)
    (held,) = tickets(ledger, tenant, 1)
    (another,) = tickets(ledger, tenant, 1)
    ledger.execute(c.TakeTicket(context(tenant), "li.na", held))
    with pytest.raises(IllegalTransition):
        ledger.execute(c.TakeTicket(context(tenant), "li.na", another))
    released = ledger.execute(c.ReleaseTicket(context(tenant), "li.na", held))
    assert released.result["open_tickets"] == 0 and isinstance(released.position, int)
    assert ledger.execute(c.TakeTicket(context(tenant), "li.na", another)).result["open_tickets"] == 1

    # Another tenant's ticket, or its agent of the same id, is none of ours.
    other = random_ref("shop-")
    (theirs,) = tickets(ledger, other, 1)
    ledger.execute(c.ReleaseTicket(context(tenant), "li.na", another))
    with pytest.raises(NotFound) as missing:
        ledger.execute(c.TakeTicket(context(tenant), "li.na", theirs))
    assert missing.value.field == "ticket_id"
    with pytest.raises(NotFound) as missing:
        ledger.execute(c.TakeTicket(context(other), "li.na", theirs))
    assert missing.value.field == "agent_id"
    uow = UnitOfWork(ledger.repository, context(tenant).meta(), AT)
    assert release_slot(uow, "li.na", theirs).load == 0 and uow.changed() == []


def test_two_registrations_of_one_agent_race_to_one_registration_and_an_update(ledger):
    tenant = random_ref("shop-")
    barrier = threading.Barrier(2, timeout=BARRIER_TIMEOUT)

    def register(capacity: int) -> bool:
        barrier.wait()
        return ledger.execute(c.PutAgent(context(tenant), "li.na", "Li Na", (), {}, capacity)).result["created"]

    with ThreadPoolExecutor(2) as pool:
        created = list(pool.map(register, [3, 4]))

    assert sorted(created) == [False, True]
    stored = agent(ledger, tenant)
    assert stored.version == 2 and stored.capacity in (3, 4)
