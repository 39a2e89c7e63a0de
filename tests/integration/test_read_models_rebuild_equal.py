"""Every read model in the catalog: built incrementally, crashed and resumed at random points,
it holds exactly the rows a rebuild from position zero holds.

Traffic comes from the seeder (realistic tickets, merges, reopenings, ratings), in chunks with
projection runs in between, so batches end at arbitrary points of a ticket's life.
"""
from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from ledgerdesk.interfaces.bootstrap import build_ledger, build_projector, build_read_store
from ledgerdesk.interfaces.seed import seed_traffic
from ledgerdesk.interfaces.settings import Settings
from ledgerdesk.projections.catalog import all_read_models
from ledgerdesk.projections.projector import Projector
from ledgerdesk.projections.read_model import Batch, ReadModel
from ledgerdesk.projections.rebuild import rebuild
from ledgerdesk.projections.store import ReadStore

pytestmark = pytest.mark.integration


class Crash(BaseException):
    """A process killed mid-batch: nothing of the batch commits, and nothing is parked."""


class CrashingModel(ReadModel):
    """A read model that dies at its n-th event, as a process killed mid-batch would."""

    def __init__(self, inner: ReadModel, crash_at: Callable[[], int]) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[misc]
        self.tables = inner.tables  # type: ignore[misc]
        self.event_types = inner.event_types  # type: ignore[misc]
        self.crash_at = crash_at
        self.countdown = crash_at()

    def apply(self, batch: Batch, event) -> None:  # type: ignore[no-untyped-def]
        self.countdown -= 1
        if self.countdown <= 0:
            self.countdown = self.crash_at()
            raise Crash(event.position)
        self.inner.apply(batch, event)


def rows_of(store: ReadStore, model: ReadModel) -> dict[str, list[tuple]]:
    """Every row of the model's active generation, without the generation, in a stable order."""
    with store.reading() as conn:
        generation = store.active_generation(conn, model.name)
        dump = {}
        for table in model.tables:
            columns = [c for c in table.columns if c.name != "generation"]
            found = conn.execute(select(*columns).where(table.c.generation == generation)).all()
            dump[table.name] = sorted((tuple(row) for row in found), key=repr)
    return dump


def project_with_crashes(projector: Projector, rng: random.Random) -> int:
    crashes = 0
    crashing = Projector(
        projector.store, projector.log,
        [CrashingModel(m, lambda: rng.randint(1, 400)) for m in projector.models],
        batch_size=rng.choice([1, 17, 100, 1000]),
    )
    while True:
        try:
            crashing.catch_up()
            return crashes
        except Crash:
            crashes += 1


def assert_incremental_equals_rebuild(projector: Projector) -> None:
    live = {m.name: rows_of(projector.store, m) for m in projector.models}
    rebuild(projector, projector.models)
    rebuilt = {m.name: rows_of(projector.store, m) for m in projector.models}
    for model in projector.models:
        assert sum(len(rows) for rows in rebuilt[model.name].values()) > 0, f"{model.name} projected nothing"
        assert live[model.name] == rebuilt[model.name], f"{model.name}: incremental rows differ from a rebuild"


def test_the_catalog_holds_the_four_read_models() -> None:
    assert {m.name for m in all_read_models()} >= {"inbox", "timeline", "analytics"}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), chunks=st.lists(st.integers(1, 6), min_size=1, max_size=4), rng_seed=st.integers())
def test_incremental_projection_with_crashes_equals_a_rebuild_on_sqlite(tmp_path_factory, seed, chunks, rng_seed) -> None:
    rng = random.Random(rng_seed)
    settings_ = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('rebuild')}/ledgerdesk.db", default_phone_region="CN")
    ledger = build_ledger(settings_)
    store = build_read_store(settings_)
    try:
        projector = build_projector(ledger, store)
        for i, tickets in enumerate(chunks):
            seed_traffic(ledger, tickets=tickets, seed=seed + i)
            project_with_crashes(projector, rng)
        assert projector.catch_up() == 0, "the crashing runs left nothing behind"
        assert_incremental_equals_rebuild(projector)
    finally:
        store.close()
        ledger.close()
