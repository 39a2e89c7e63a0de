"""A policy follows the log like a read model does: its own position and parked events, its
commands through the write path as actor policy:<name>, caused by the triggering event, and
never twice for one trigger ([policies], built on the followers of [throughput])."""
from __future__ import annotations

from uuid import UUID

import pytest

from ledgerdesk.application import commands as c
from ledgerdesk.application.event_views import event_id_text
from ledgerdesk.application.policy import Trigger, policy_context
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.projections import parking
from ledgerdesk.projections.inbox.projection import TicketInbox
from ledgerdesk.projections.policy_consumer import PolicyConsumer
from ledgerdesk.projections.projector import Projector
from ledgerdesk.projections.retry import retry
from ledgerdesk.projections.status import status
from tests.conftest import random_ref
from tests.integration.test_concurrency import inbound

pytestmark = pytest.mark.integration


class Tagger:
    """Tags every new ticket; for tenants in `broken` it raises, like a policy with a bug."""

    name = "tagger"
    event_types = frozenset({"Ticket.Opened"})
    own_event_types: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.broken: set[str] = set()
        self.decided = 0

    def commands_for(self, trigger: Trigger, ledger) -> list:  # type: ignore[no-untyped-def]
        self.decided += 1
        if trigger.tenant in self.broken:
            raise RuntimeError("the tagger cannot read this shop's rules")
        ctx = policy_context(self.name, trigger, reason=f"every new {trigger.data['channel']} ticket is looked at")
        return [c.RetagTicket(ctx, UUID(trigger.aggregate_id), add=("looked-at",))]


@pytest.fixture
def tagger() -> Tagger:
    return Tagger()


@pytest.fixture
def follower_projector(ledger, read_store, tagger) -> Projector:
    models = [TicketInbox(), PolicyConsumer(tagger, ledger)]
    read_store.register(m.name for m in models)
    # PostgreSQL's log is the whole session's: the tagger starts where this test does, or it
    # would tag every earlier test's tickets first.
    with read_store.writing() as conn:
        if read_store.position(conn, "policy:tagger")[1] == 0:
            read_store.set_position(conn, "policy:tagger", 1, ledger.recorder.max_notification_id() or 0)
    return Projector(read_store, ledger.recorder, models)


def history(ledger, tenant: str, ticket: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return ledger.history(tenant, Ticket, UUID(ticket), 0, 1000)["items"]


def test_a_policys_command_is_in_the_history_with_its_actor_cause_and_reason(ledger, follower_projector) -> None:
    tenant = random_ref("tenant-")
    ticket = ledger.execute(inbound(tenant)).result["ticket_id"]
    follower_projector.catch_up()
    events = history(ledger, tenant, ticket)
    opened = next(e for e in events if e["type"] == "Ticket.Opened")
    tagged = next(e for e in events if e["type"] == "Ticket.Tagged")
    assert tagged["actor"] == {"kind": "policy", "id": "tagger"}
    assert tagged["causation_id"] == opened["id"] == event_id_text(ticket, 1)
    assert tagged["correlation_id"] == ticket
    assert tagged["reason"] == "every new taobao ticket is looked at"


def test_a_trigger_handled_again_appends_nothing(ledger, follower_projector, read_store, tagger) -> None:
    """A crash after the commands and before the position: the follower hands the triggers over again."""
    tenant = random_ref("tenant-")
    before = ledger.recorder.max_notification_id() or 0
    ticket = ledger.execute(inbound(tenant)).result["ticket_id"]
    follower_projector.catch_up()
    head = ledger.recorder.max_notification_id()
    with read_store.writing() as conn:
        read_store.set_position(conn, "policy:tagger", 1, before)
    follower_projector.catch_up()
    assert tagger.decided >= 2
    assert [e["type"] for e in history(ledger, tenant, ticket)].count("Ticket.Tagged") == 1
    assert ledger.recorder.max_notification_id() == head


def test_a_policy_that_raises_parks_the_trigger_and_the_rest_goes_on(ledger, follower_projector, read_store, tagger) -> None:
    broken, fine = random_ref("tenant-"), random_ref("tenant-")
    tagger.broken.add(broken)
    stuck = ledger.execute(inbound(broken)).result["ticket_id"]
    served = ledger.execute(inbound(fine)).result["ticket_id"]
    follower_projector.catch_up()
    assert "Ticket.Tagged" in [e["type"] for e in history(ledger, fine, served)]
    assert "Ticket.Tagged" not in [e["type"] for e in history(ledger, broken, stuck)]
    rows = {row["name"]: row for row in status(follower_projector)}
    assert rows["policy:tagger"]["lag"] == 0 and rows["inbox"]["lag"] == 0
    with read_store.reading() as conn:
        parked = parking.parked_events(conn, {"policy:tagger": 1})
    assert [(p.tenant, p.event_type) for p in parked] == [(broken, "Ticket.Opened")]
    assert "cannot read this shop's rules" in parked[0].error

    tagger.broken.clear()  # the fix is deployed
    retry(follower_projector, [m for m in follower_projector.models if m.name == "policy:tagger"])
    assert "Ticket.Tagged" in [e["type"] for e in history(ledger, broken, stuck)]


def test_a_decision_that_no_longer_applies_is_skipped_not_parked(ledger, follower_projector, read_store) -> None:
    tenant = random_ref("tenant-")
    ticket = ledger.execute(inbound(tenant)).result["ticket_id"]
    ctx = c.CommandContext(tenant, inbound(tenant).context.actor, "close-it", "close-it")
    ledger.execute(c.MergeTicket(ctx, UUID(ticket), into_ticket_id=UUID(ledger.execute(inbound(tenant)).result["ticket_id"])))
    follower_projector.catch_up()  # the first ticket was merged before the policy got to it
    with read_store.reading() as conn:
        assert parking.parked_events(conn, {"policy:tagger": 1}) == []
    assert "Ticket.Tagged" not in [e["type"] for e in history(ledger, tenant, ticket)]


def test_a_policy_never_reacts_to_its_own_events(ledger, read_store) -> None:
    class Echo(Tagger):
        name = "echo"
        event_types = frozenset({"Ticket.Opened", "Ticket.Tagged"})

    echo = Echo()
    consumer = PolicyConsumer(echo, ledger)
    read_store.register([consumer.name])
    projector = Projector(read_store, ledger.recorder, [consumer])
    projector.catch_up()  # whatever other tests left in the log
    before = echo.decided
    ledger.execute(inbound(random_ref("tenant-")))
    projector.catch_up()
    projector.catch_up()
    assert echo.decided - before == 1  # Ticket.Opened; its own Ticket.Tagged is not a trigger for it


# -- the live runner: no transaction open while the commands run ------------------------------


@pytest.fixture
def runner(ledger, read_store, tagger):  # type: ignore[no-untyped-def]
    from ledgerdesk.projections.policy_runner import PolicyRunner

    consumer = PolicyConsumer(tagger, ledger)
    read_store.register([consumer.name])
    live = PolicyRunner(read_store, ledger.recorder, [consumer], batch_size=7)
    live.catch_up()  # whatever earlier tests left in the log
    return live


def test_the_runner_commits_its_position_only_after_the_commands_and_parks_what_raises(ledger, runner, read_store, tagger) -> None:
    broken, fine = random_ref("tenant-"), random_ref("tenant-")
    tagger.broken.add(broken)
    seen_open: list[bool] = []
    decide = tagger.commands_for

    def while_deciding(trigger, app):  # type: ignore[no-untyped-def]
        # The read models' file is free while a policy decides and its commands run.
        with read_store.writing() as conn:
            seen_open.append(conn.in_transaction())
        return decide(trigger, app)

    tagger.commands_for = while_deciding  # type: ignore[method-assign]
    stuck = ledger.execute(inbound(broken)).result["ticket_id"]
    served = [ledger.execute(inbound(fine)).result["ticket_id"] for _ in range(10)]  # more than one batch
    runner.catch_up()
    assert seen_open and all(seen_open)
    assert all("Ticket.Tagged" in [e["type"] for e in history(ledger, fine, t)] for t in served)
    assert "Ticket.Tagged" not in [e["type"] for e in history(ledger, broken, stuck)]
    with read_store.reading() as conn:
        parked = parking.parked_events(conn, {"policy:tagger": 1})
        position = read_store.position(conn, "policy:tagger")[1]
    assert [(p.tenant, p.event_type) for p in parked] == [(broken, "Ticket.Opened")]
    assert position == ledger.recorder.max_notification_id()


def test_a_runner_that_dies_before_its_position_hands_the_triggers_over_and_nothing_doubles(ledger, runner, read_store, tagger) -> None:
    tenant = random_ref("tenant-")
    tickets = [ledger.execute(inbound(tenant)).result["ticket_id"] for _ in range(3)]
    record = runner._record

    def dies(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt  # killed between the commands and the position

    runner._record = dies  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        runner.catch_up()
    runner._record = record  # type: ignore[method-assign]
    runner.catch_up()
    assert all([e["type"] for e in history(ledger, tenant, t)].count("Ticket.Tagged") == 1 for t in tickets)
