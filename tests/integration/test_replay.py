"""`ledgerdesk replay`: every read model as it stood at a position, built into a fresh database, row
for row what a rebuild stopped at that position writes. On SQLite and PostgreSQL."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from uuid import uuid4

import pytest

from ledgerdesk.application import commands as c
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.domain.audit import Actor, ActorKind

from ledgerdesk.interfaces.bootstrap import build_ledger, build_projector, build_read_store
from ledgerdesk.interfaces.cli import main
from ledgerdesk.interfaces.seed import seed_traffic
from ledgerdesk.interfaces.settings import Settings
from ledgerdesk.projections.projector import Target
from ledgerdesk.projections.rebuild import start_generations
from ledgerdesk.projections.replay import position_at
from ledgerdesk.projections.store import ReadStore
from ledgerdesk.projections.verify import Verification, compare_rows
from tests.conftest import SteppingClock, fresh_postgres_database

pytestmark = pytest.mark.integration


@contextmanager
def fresh_target(source_url: str, tmp_path: Path) -> Iterator[str]:
    if source_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/replayed.db"
        return
    with fresh_postgres_database("ledgerdesk_replay_") as url:
        yield url


def test_a_replay_equals_a_rebuild_stopped_at_the_same_position(own_database_url: str, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(database_url=own_database_url, api_keys={})
    ledger = build_ledger(settings)
    seed_traffic(ledger, tickets=25, seed=5)
    head = ledger.recorder.max_notification_id() or 0
    until = head * 2 // 3
    with fresh_target(own_database_url, tmp_path) as target:
        assert main(["replay", "--until", str(until), "--to", target, "--quiet", "--database", own_database_url]) == 0
        assert "events/s" in capsys.readouterr().out

        live = build_read_store(settings)
        projector = build_projector(ledger, live)
        models = projector.models
        fresh = start_generations(projector, models)
        projector.catch_up([Target(m, fresh[m.name]) for m in models], until=until)  # a rebuild, stopped at `until`
        replayed = ReadStore(Settings(database_url=own_database_url, read_models_at=target).read_model_url())
        try:
            compared: dict[str, int] = {}
            with live.reading() as rebuilt_conn, replayed.reading() as replayed_conn:
                for model in models:
                    position = replayed.position(replayed_conn, model.name)[1]
                    assert position == until, model.name
                    found = Verification(model.name, until)
                    compare_rows(model, (rebuilt_conn, fresh[model.name]), (replayed_conn, 1), found,
                                 names=("rebuilt", "replayed"))
                    assert not found.differences, found.differences
                    compared[model.name] = sum(found.rows.values())
        finally:
            replayed.close()
            live.close()
        assert all(compared[name] > 0 for name in ("inbox", "timeline", "agents", "analytics")), compared  # the seed quarantines no mail
        # Again into the same database: refused, it is no longer fresh.
        assert main(["replay", "--until", str(until), "--to", target, "--quiet", "--database", own_database_url]) == 2
        assert "fresh database" in capsys.readouterr().err
    ledger.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_replay_refuses_the_live_databases_and_bad_positions(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    database = settings.database_url
    build_ledger(settings).close()
    for target, why in ((settings.read_model_url(), "live read models"), (database, "events")):
        assert main(["replay", "--until", "0", "--to", target, "--quiet", "--database", database]) == 2
        assert why in capsys.readouterr().err
    for until in ("99", "2026-11-11T00:00:00", "yesterday", "-1"):
        assert main(["replay", "--until", until, "--to", database + ".other", "--quiet", "--database", database]) == 2
        assert "--until" in capsys.readouterr().err


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # a log of its own: the scan reads it from the start
def test_an_instant_is_the_position_before_the_first_later_event(ledger: Ledger, clock: SteppingClock) -> None:
    start = clock.now
    command_id = str(uuid4())
    context = c.CommandContext("t-replay", Actor(ActorKind.AGENT, "ada"), command_id, command_id)
    positions = [ledger.execute(c.OpenTicket(context, f"ticket {n}", customer=c.CustomerHints(email=f"{n}@x.com"))).position
                 for n in range(3)]
    times = [start + timedelta(seconds=n + 1) for n in range(3)]  # the stepping clock: one second a command
    assert position_at(ledger.recorder, times[1]) == positions[1]
    assert position_at(ledger.recorder, times[1] + timedelta(milliseconds=500)) == positions[1]
    assert position_at(ledger.recorder, times[2] + timedelta(days=1)) == positions[2]
    assert position_at(ledger.recorder, datetime(1, 1, 1, tzinfo=timezone.utc)) == 0
