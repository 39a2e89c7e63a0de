"""The projector applies each event exactly once: across crashes, concurrent projectors and rebuilds.

A probe read model counts events per tenant: applying any event twice, or skipping one, shows
up as a wrong count.
"""
from __future__ import annotations

import random
import threading
from uuid import UUID

import pytest
from sqlalchemy import BigInteger, Column, MetaData, String, Table, select

from ledgerdesk.application import commands as c
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.channel import Channel
from ledgerdesk.projections.projector import Projector, Target
from ledgerdesk.projections.read_model import Batch, ReadModel
from ledgerdesk.projections.rebuild import rebuild
from ledgerdesk.projections.status import status
from ledgerdesk.projections.schema import generation_column
from tests.conftest import random_ref

pytestmark = pytest.mark.integration

probe_metadata = MetaData()
event_counts = Table(
    "probe_event_counts",
    probe_metadata,
    generation_column(),
    Column("tenant", String(128), primary_key=True),
    Column("events", BigInteger, nullable=False),
    Column("last_position", BigInteger, nullable=False),
)


class Crash(BaseException):
    """A process killed mid-batch: nothing of the batch commits, and nothing is parked."""


class EventCounter(ReadModel):
    name = "probe"
    tables = (event_counts,)
    event_types = frozenset({"Ticket.Opened", "Ticket.NoteAdded", "Ticket.ReplySent", "Ticket.StatusChanged"})

    def __init__(self, crash_after: int | None = None) -> None:
        self.crash_after = crash_after
        self.seen = 0

    def apply(self, batch: Batch, event) -> None:  # type: ignore[no-untyped-def]
        self.seen += 1
        if self.crash_after is not None and self.seen >= self.crash_after:
            self.crash_after = None
            raise Crash(f"stopped at position {event.position}")
        rows = batch.table(event_counts)
        row = rows.get(tenant=event.tenant) or {"tenant": event.tenant, "events": 0, "last_position": 0}
        assert event.position > row["last_position"], "events must arrive once, in log order"
        rows.put({**row, "events": row["events"] + 1, "last_position": event.position})


def context(tenant: str) -> c.CommandContext:
    ref = random_ref()
    return c.CommandContext(tenant=tenant, actor=Actor(ActorKind.AGENT, "agent-ada"), command_id=ref, correlation_id=ref)


def make_traffic(ledger, tenant: str, tickets: int) -> int:  # type: ignore[no-untyped-def]
    """Opens tickets and works on them; answers how many events the probe counts."""
    counted = 0
    for _ in range(tickets):
        answer = ledger.execute(
            c.OpenTicket(context(tenant), subject="Where is my parcel?", customer_id=None,
                         customer=c.CustomerHints(email=f"{random_ref()}@example.com"), channel=Channel.WEB_CHAT)
        ).result
        ledger.execute(c.AddInternalNote(context(tenant), ticket_id=UUID(answer["ticket_id"]), text="checking with the courier"))
        ledger.execute(c.ReplyToTicket(context(tenant), ticket_id=UUID(answer["ticket_id"]), text="On its way"))
        counted += 4  # opened, note, reply, new -> open
    return counted


@pytest.fixture
def probe_store(read_store):  # type: ignore[no-untyped-def]
    probe_metadata.create_all(read_store.write_engine)
    read_store.register(["probe"])
    yield read_store


def counted(store, tenant: str) -> int:  # type: ignore[no-untyped-def]
    with store.reading() as conn:
        generation = store.active_generation(conn, "probe")
        found = conn.execute(
            select(event_counts.c.events).where(event_counts.c.generation == generation, event_counts.c.tenant == tenant)
        ).scalar()
    return found or 0


def test_a_crash_mid_batch_applies_nothing_of_it_and_the_restart_applies_everything_once(ledger, probe_store) -> None:
    tenant = random_ref("tenant-")
    expected = make_traffic(ledger, tenant, 12)
    crashes = 0
    while True:
        # Each run dies at a random event, after committing the batches before it.
        crashing = Projector(probe_store, ledger.recorder, [EventCounter(random.randint(1, 12))], batch_size=random.choice([3, 7, 50]))
        try:
            crashing.catch_up()
            break
        except Crash:
            crashes += 1
    assert crashes >= 3
    assert counted(probe_store, tenant) == expected


def test_two_projectors_racing_on_one_database_apply_each_event_once(ledger, probe_store) -> None:
    tenant = random_ref("tenant-")
    expected = make_traffic(ledger, tenant, 15)
    projectors = [Projector(probe_store, ledger.recorder, [EventCounter()], batch_size=4) for _ in range(3)]
    threads = [threading.Thread(target=p.catch_up) for p in projectors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counted(probe_store, tenant) == expected
    # The probe raises on an event it sees twice, which the projector would park rather than apply.
    assert status(projectors[0])[0]["parked"]["events"] == 0


def test_a_rebuild_fills_a_new_generation_then_switches_and_the_live_projector_carries_on(ledger, probe_store) -> None:
    tenant = random_ref("tenant-")
    expected = make_traffic(ledger, tenant, 5)
    live = Projector(probe_store, ledger.recorder, [EventCounter()])
    live.catch_up()
    before = status(live)[0]["generation"]
    report = rebuild(Projector(probe_store, ledger.recorder, [EventCounter()]), [EventCounter()])
    assert report.events >= expected
    assert status(live)[0]["generation"] == before + 1
    assert counted(probe_store, tenant) == expected
    expected += make_traffic(ledger, tenant, 2)
    live.catch_up()
    assert counted(probe_store, tenant) == expected
    assert status(live)[0]["lag"] == 0


def test_the_live_generation_answers_queries_while_a_rebuild_is_half_done(ledger, probe_store) -> None:
    tenant = random_ref("tenant-")
    expected = make_traffic(ledger, tenant, 6)
    live = Projector(probe_store, ledger.recorder, [EventCounter()])
    live.catch_up()
    from ledgerdesk.projections.rebuild import start_generations

    fresh = start_generations(live, [EventCounter()])
    half = Projector(probe_store, ledger.recorder, [EventCounter()], batch_size=5)
    notifications = ledger.recorder.select_notifications(start=0, limit=10, inclusive_of_start=False)
    half.apply(notifications, [Target(half.models[0], fresh["probe"])])
    assert counted(probe_store, tenant) == expected
    assert status(live)[0]["rebuilding"]["generation"] == fresh["probe"]
    rebuild(live, live.models, restart=True)  # taking over the half-done rebuild
    assert counted(probe_store, tenant) == expected


def test_a_second_rebuild_is_refused_while_one_fills_a_generation_unless_told_to_take_over(ledger, probe_store) -> None:
    from ledgerdesk.projections.rebuild import RebuildInProgress, start_generations

    tenant = random_ref("tenant-")
    expected = make_traffic(ledger, tenant, 3)
    projector = Projector(probe_store, ledger.recorder, [EventCounter()])
    projector.catch_up()
    start_generations(projector, projector.models)  # a rebuild that died half-way

    with pytest.raises(RebuildInProgress):
        rebuild(projector, projector.models)
    rebuild(projector, projector.models, restart=True)

    assert counted(probe_store, tenant) == expected
    assert status(projector)[0]["rebuilding"] is None


@pytest.fixture
def own_store(own_database_url):  # type: ignore[no-untyped-def]
    """A database of the test's own: the rows it compares with a rebuild are all of the log's."""
    from ledgerdesk.interfaces.bootstrap import build_ledger, build_read_store
    from ledgerdesk.interfaces.settings import Settings

    settings = Settings(database_url=own_database_url)
    ledger, store = build_ledger(settings), build_read_store(settings)
    yield ledger, store
    store.close()
    ledger.close()


def test_projectors_racing_over_the_real_read_models_leave_a_rebuilds_rows(own_store) -> None:
    """Counters in the inbox double on any event applied twice: racing projectors must leave
    exactly the rows a rebuild makes (PostgreSQL: each must read the position the one it waited
    for committed, not the one its statement's snapshot saw)."""
    from ledgerdesk.projections.catalog import all_read_models
    from tests.integration.test_read_models_rebuild_equal import rows_of

    ledger, read_store = own_store
    for tickets in (3, 4, 5):
        make_traffic(ledger, random_ref("tenant-"), tickets)
    projectors = [Projector(read_store, ledger.recorder, all_read_models(), batch_size=3) for _ in range(3)]
    threads = [threading.Thread(target=p.catch_up) for p in projectors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(s["lag"] == 0 and s["parked"]["events"] == 0 for s in status(projectors[0]))
    models = projectors[0].models
    live = {m.name: rows_of(read_store, m) for m in models}
    rebuild(projectors[0], models)
    assert {m.name: rows_of(read_store, m) for m in models} == live
