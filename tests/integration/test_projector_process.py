"""The embedded default's read side: `serve` projects in a child process of its own, on SQLite
into a file of its own (trial behind it, issue 9: the read models projected in the API process
took turns with the request threads for one GIL, and each command paid for a batch).
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from ledgerdesk.interfaces.bootstrap import build_projector, build_runtime
from ledgerdesk.interfaces.projector_process import ProjectorProcess
from ledgerdesk.interfaces.seed import seed_traffic
from ledgerdesk.interfaces.settings import Settings
from ledgerdesk.projections.status import status
from tests.integration.test_read_models_rebuild_equal import assert_incremental_equals_rebuild

pytestmark = pytest.mark.integration


def caught_up(runtime, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(row["lag"] == 0 for row in status(runtime.projector)):
            return
        time.sleep(0.02)
    raise AssertionError(f"the child projector did not catch up in {timeout} s: {status(runtime.projector)}")


def ledger_events_by(ledger, actor: str) -> list:  # type: ignore[no-untyped-def]
    kind, _, name = actor.partition(":")
    return [n for n in ledger.recorder.select_notifications(start=1, limit=1_000_000)
            if f'"actor_kind":"{kind}","actor_id":"{name}"' in n.state.decode().replace(" ", "")]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") < 0


def test_on_sqlite_the_read_models_live_in_a_file_of_their_own_beside_the_events(tmp_path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/shop.db")
    assert settings.read_model_url() == f"sqlite:///{tmp_path}/shop.read.db"


def test_serve_projects_in_a_child_process_that_comes_back_when_killed_and_ends_with_serve(tmp_path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/shop.db", default_phone_region="CN", policies="triage,routing")
    assert settings.projections == "process"  # what `serve` does unless told otherwise
    runtime = build_runtime(settings)
    assert isinstance(runtime.follower, ProjectorProcess)
    runtime.start()
    try:
        seed_traffic(runtime.ledger, tickets=8, seed=7)
        caught_up(runtime)
        first = runtime.follower.pid
        assert first is not None and first != os.getpid()

        os.kill(first, signal.SIGKILL)  # wherever it was
        seed_traffic(runtime.ledger, tickets=8, seed=8)
        caught_up(runtime)
        assert runtime.follower.pid not in (None, first)
        # The child runs the policies too: triage has read the seeded messages.
        triaged = ledger_events_by(runtime.ledger, "policy:triage")
        assert triaged and {e.topic.rpartition(":")[2] for e in triaged} <= {"Ticket.CategoryChanged", "Ticket.PriorityChanged", "CommandReceipt.CommandHandled"}
        assert_incremental_equals_rebuild(build_projector(runtime.ledger, runtime.read_store))
        second = runtime.follower.pid
    finally:
        runtime.stop()
    assert second is not None and not alive(second)
