"""Many API processes may start together on an empty PostgreSQL database: all of them come up."""
import subprocess
import sys
import time

import pytest

from tests.conftest import fresh_postgres_database

pytestmark = pytest.mark.integration

# Imports take a varying second; then every process starts its ledger at the same instant.
START_A_LEDGER = """
import sys, time
from ledgerdesk.interfaces.bootstrap import build_ledger
from ledgerdesk.interfaces.settings import Settings
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
ledger = build_ledger(Settings(database_url=sys.argv[1]))
print(ledger.recorder.max_notification_id())
"""


@pytest.fixture
def empty_database(postgres_database_url):
    """Besides the session's database (whose fixture fails or skips when PostgreSQL is away), an empty one."""
    with fresh_postgres_database("ledgerdesk_start_") as url:
        yield url


def test_processes_starting_at_once_on_an_empty_database_all_come_up(empty_database):
    start_at = str(time.time() + 6)
    processes = [
        subprocess.Popen([sys.executable, "-c", START_A_LEDGER, empty_database, start_at], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    results = [(p.wait(timeout=120), p.stderr.read().strip()[-300:]) for p in processes]

    assert [code for code, _ in results] == [0] * 8, [err for code, err in results if code]
