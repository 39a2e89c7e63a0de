"""Production shape on PostgreSQL: the read models follow the log in their own process
(`ledgerdesk project`), woken by the library's LISTEN/NOTIFY subscription. Killed with SIGKILL
mid-stream and started again, it ends with exactly the rows of a rebuild.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from ledgerdesk.interfaces.bootstrap import build_ledger, build_projector, build_read_store
from ledgerdesk.interfaces.seed import seed_traffic
from ledgerdesk.interfaces.settings import Settings
from ledgerdesk.projections.status import status
from tests.conftest import fresh_postgres_database
from tests.integration.test_read_models_rebuild_equal import assert_incremental_equals_rebuild

pytestmark = pytest.mark.integration


def start_projection_process(url: str) -> subprocess.Popen:
    # No fallback wake within the test: only NOTIFY can wake the process.
    # No policies: they would append events of their own (a seed leaves tickets to route and SLAs to
    # escalate) while the rows are compared; this test is about the read models resuming.
    env = {**os.environ, "LEDGERDESK_DATABASE_URL": url, "LEDGERDESK_PROJECTION_FALLBACK_WAKE_SECONDS": "3600",
           "LEDGERDESK_POLICIES": ""}
    return subprocess.Popen([sys.executable, "-m", "ledgerdesk.interfaces.cli", "project"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_until_caught_up(projector, timeout: float = 60.0) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if all(row["lag"] == 0 for row in status(projector)):
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"the projection process did not catch up in {timeout} s: {status(projector)}")


@pytest.fixture
def own_postgres_database(postgres_database_url):  # type: ignore[no-untyped-def]
    """A database of its own: the seeder's tenants have fixed names, and a rebuild covers the whole log."""
    with fresh_postgres_database("ledgerdesk_projection_") as url:
        yield url


def test_a_projection_process_killed_mid_stream_resumes_to_the_rows_of_a_rebuild(own_postgres_database) -> None:
    postgres_database_url = own_postgres_database
    settings = Settings(database_url=postgres_database_url, default_phone_region="CN")
    ledger = build_ledger(settings)
    store = build_read_store(settings)
    projector = build_projector(ledger, store)
    process = start_projection_process(postgres_database_url)
    try:
        time.sleep(1.0)
        seed_traffic(ledger, tickets=12, seed=101)
        process.send_signal(signal.SIGKILL)  # wherever it was: mid-batch, between batches, idle
        process.wait(10)
        seed_traffic(ledger, tickets=12, seed=102)
        process = start_projection_process(postgres_database_url)
        wait_until_caught_up(projector)
        seed_traffic(ledger, tickets=1, seed=103)  # long after the restart's catch-up: only NOTIFY can wake it
        wait_until_caught_up(projector)
        assert_incremental_equals_rebuild(projector)
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
        store.close()
        ledger.close()
    assert "projecting" in output
