"""A newcomer's first hour: every start-up problem is one line naming the cause and the mend, fast.

Trials ([hardening]): with a PostgreSQL URL whose database does not exist, `serve` hung 30 s and
died with a 50-line traceback that never named the cause; a malformed LEDGERDESK_API_KEYS gave a
raw pydantic traceback; a configured key with spaces or non-ASCII characters could never
authenticate, silently; `serve --help` and `seed --help` showed no defaults.
"""
from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest

from ledgerdesk.interfaces.cli import main
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.integration


def one_line_failure(argv: list[str], capsys, seconds: float = 6.0) -> str:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    assert main(argv) == 2
    assert time.monotonic() - started < seconds
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("ledgerdesk: "), err
    return err


def test_a_missing_postgres_database_is_named_with_how_to_create_it(postgres_database_url, capsys) -> None:
    name = "ledgerdesk_missing_" + uuid.uuid4().hex[:8]
    url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    err = one_line_failure(["serve", "--database", url], capsys)
    assert f'no database "{name}"' in err and f"createdb -h 127.0.0.1 -p 5432 -U postgres {name}" in err


def test_an_unreachable_postgres_is_named(capsys) -> None:
    err = one_line_failure(["projections", "status", "--database", "postgresql://postgres@127.0.0.1:1/test"], capsys)
    assert "cannot reach PostgreSQL at 127.0.0.1:1" in err


def test_a_sqlite_file_in_a_missing_folder_is_named(tmp_path, capsys) -> None:
    err = one_line_failure(["seed", "--database", f"sqlite:///{tmp_path}/nowhere/ledgerdesk.db"], capsys)
    assert f"the folder {tmp_path}/nowhere of the SQLite database" in err and "does not exist" in err


def test_a_read_model_file_that_cannot_be_opened_is_named(tmp_path, capsys) -> None:
    """Found trying issue 9's separate read-model file: a directory in its place was a traceback."""
    (tmp_path / "shop.read.db").mkdir()
    err = one_line_failure(["serve", "--database", f"sqlite:///{tmp_path}/shop.db"], capsys)
    assert f"cannot open the read models' SQLite database {tmp_path}/shop.read.db" in err


@pytest.mark.parametrize(("keys", "says"), [
    ('{"acme-key": ', "is not a JSON object of keys"),
    ('{"acme key 1": {"tenant": "acme", "actor": "li.na"}}', "without spaces"),
    ('{"clé-secrète": {"tenant": "acme", "actor": "li.na"}}', "printable ASCII"),
    ('{"acme-key-1": {"tenant": "acme|email", "actor": "li.na"}}', "a tenant name has"),
    ('{"acme-key-1": {"tenant": "acme", "actor": "li.na", "role": "boss"}}', "role"),
    # Hostile run: a key given twice silently kept the last (another tenant's, say); unknown fields
    # were ignored; an empty object silently made a development key for tenant demo.
    ('{"acme-key-1": {"tenant": "acme", "actor": "a"}, "acme-key-1": {"tenant": "other", "actor": "b"}}', "given twice"),
    ('{"acme-key-1": {"tenant": "acme", "actor": "li.na", "rol": "admin"}}', "rol"),
    ("{}", "holds no key"),
    ("not json", "is not a JSON object of keys"),
])
def test_bad_key_configuration_is_one_clear_line_that_does_not_print_the_key(tmp_path, monkeypatch, capsys, keys, says) -> None:
    monkeypatch.setenv("LEDGERDESK_API_KEYS", keys)
    err = one_line_failure(["serve", "--database", f"sqlite:///{tmp_path}/x.db"], capsys)
    assert "LEDGERDESK_API_KEYS" in err and says in err
    assert "secrète" not in err and "acme key 1" not in err


@pytest.mark.parametrize("command", ["serve", "seed"])
def test_help_shows_the_defaults(command) -> None:
    shown = subprocess.run([sys.executable, "-m", "ledgerdesk.interfaces.cli", command, "--help"],
                           capture_output=True, text=True, check=True).stdout
    assert "(default: 8000)" in shown if command == "serve" else "(default: 200)" in shown
    assert "(default: None)" not in shown


def test_an_in_memory_sqlite_database_is_refused(capsys) -> None:
    """Hostile run: sqlite:///:memory: started, took commands, and every read-model route was a 500."""
    err = one_line_failure(["serve", "--database", "sqlite:///:memory:"], capsys)
    assert "give a file" in err


def test_the_librarys_import_time_timezone_variable_changes_nothing(tmp_path) -> None:
    """Hostile run: TZINFO_TOPIC=nonexistent:tz ended `serve` with a 40-line traceback (eventsourcing
    reads it when imported)."""
    import os

    shown = subprocess.run(
        [sys.executable, "-c", "from ledgerdesk.interfaces.entry import main; raise SystemExit(main())",
         "projections", "status", "--database", f"sqlite:///{tmp_path}/x.db"],
        capture_output=True, text=True, env={**os.environ, "TZINFO_TOPIC": "nonexistent:tz"},
    )
    assert shown.returncode == 0, shown.stderr
    assert "analytics" in shown.stdout


def test_a_broker_url_with_a_port_out_of_range_is_one_line(tmp_path, monkeypatch, capsys) -> None:
    """Hostile run: LEDGERDESK_BROKER_URL=amqp://…:99999/ was a traceback from `worker`, `project`
    and `policies dead-letters`, and `serve` answered while its child projector died in a loop."""
    monkeypatch.setenv("LEDGERDESK_BROKER_URL", "amqp://guest:secret@127.0.0.1:99999/")
    for argv in (["projections", "status"], ["serve"]):
        err = one_line_failure([*argv, "--database", f"sqlite:///{tmp_path}/x.db"], capsys)
        assert "LEDGERDESK_BROKER_URL" in err and "Port out of range" in err and "secret" not in err


@pytest.mark.parametrize("wait", ["inf", "1e300"])
def test_an_endless_fallback_wake_is_refused_at_start_up(tmp_path, monkeypatch, capsys, wait) -> None:
    """Hostile run: LEDGERDESK_PROJECTION_FALLBACK_WAKE_SECONDS=inf started, then every follower
    thread died of an OverflowError in its wait: the process lived on and no read model moved."""
    monkeypatch.setenv("LEDGERDESK_PROJECTION_FALLBACK_WAKE_SECONDS", wait)
    err = one_line_failure(["projections", "status", "--database", f"sqlite:///{tmp_path}/x.db"], capsys)
    assert "LEDGERDESK_PROJECTION_FALLBACK_WAKE_SECONDS" in err
