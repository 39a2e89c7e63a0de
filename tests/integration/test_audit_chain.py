"""Tamper evidence on both backends: the history as stored verifies clean; an event edited,
deleted or slipped in directly in the database (SQL, not the app) is found and located; a
rewrite consistent with the algorithm is caught by the checkpoints; writers racing on one
stream and grouped appends never break a chain.

Each test has a database of its own: verifying the log reads all of it, and these tests tamper with it.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from ledgerdesk.application.audit_checkpoints import Checkpointer
from ledgerdesk.application.audit_verify import verify_log
from ledgerdesk.application.commands import AddInternalNote
from ledgerdesk.application.group_commit import GroupCommit
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.domain.event_chain import GENESIS, event_hash
from ledgerdesk.interfaces.bootstrap import build_ledger
from ledgerdesk.interfaces.settings import Settings
from tests.conftest import random_ref
from tests.integration.test_concurrency import at_once, context, extra_ledgers, inbound

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(own_database_url: str) -> Settings:
    return Settings(database_url=own_database_url, api_keys={}, default_phone_region="CN")


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Ledger]:
    app = build_ledger(settings)
    yield app
    app.close()


class Database:
    """The events' database reached directly, as someone with write access to it would."""

    def __init__(self, ledger: Ledger, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.events_table = ledger.recorder.events_table_name  # SQLite: stored_events, PostgreSQL: ledger_events

    def key(self, stream: UUID) -> Any:
        return stream.hex if self.is_sqlite else stream

    def run(self, statement: str, params: Sequence[Any] = ()) -> int:
        statement = statement.replace("stored_events", self.events_table)
        if self.is_sqlite:
            with sqlite3.connect(self.url[len("sqlite:///"):]) as conn:
                return conn.execute(statement, params).rowcount
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(statement.replace("?", "%s"), params).rowcount


def a_ticket_with_notes(ledger: Ledger, tenant: str, notes: int) -> UUID:
    ticket_id = UUID(ledger.execute(inbound(tenant)).result["ticket_id"])
    for n in range(notes):
        ledger.execute(AddInternalNote(context(tenant), ticket_id, text=f"note {n}"))
    return ticket_id


def some_history(ledger: Ledger, tenant: str) -> list[UUID]:
    return [a_ticket_with_notes(ledger, tenant, notes) for notes in (4, 2, 5)]


def found(report_breaks: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    return sorted((b["stream_id"], b["version"], b["kind"]) for b in report_breaks)


def positions(ledger: Ledger, stream: UUID) -> dict[int, int]:
    return {version: position for version, _t, _s, _h, position in ledger.recorder.select_chain_links(stream)}


def test_untouched_history_verifies_clean_with_its_checkpoints(ledger: Ledger) -> None:
    tickets = some_history(ledger, random_ref("tenant-"))
    Checkpointer(ledger.recorder, every_events=7).step(force=True)
    report = ledger.verify_log()
    assert report.verified, report.as_dict()
    assert report.events == ledger.recorder.max_notification_id() and report.checkpoints >= 2 and report.unsealed_events == 0
    stream = ledger.verify_stream(tickets[0])
    assert stream["verified"] and stream["breaks"] == [] and stream["head_version"] == 6  # intake: 2 events, then a note each
    assert stream["checkpoint"] is not None and stream["checkpoint"]["position"] >= max(positions(ledger, tickets[0]).values())


def test_an_event_edited_in_the_database_is_altered_at_its_stream_and_version(ledger: Ledger, settings: Settings) -> None:
    ticket = some_history(ledger, random_ref("tenant-"))[0]
    edited = Database(ledger, settings.database_url).run(
        "UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = 3",
        (b'{"text": "note 1 (edited)"}', Database(ledger, settings.database_url).key(ticket)))
    assert edited == 1

    breaks = [(str(ticket), 3, "altered")]
    assert found(ledger.verify_stream(ticket)["breaks"]) == breaks
    report = ledger.verify_log()
    assert found(report.breaks) == breaks and report.breaks[0]["position"] == positions(ledger, ticket)[3]


def test_an_event_deleted_in_the_database_is_removed_at_its_version(ledger: Ledger, settings: Settings) -> None:
    ticket = some_history(ledger, random_ref("tenant-"))[2]
    db = Database(ledger, settings.database_url)
    assert db.run("DELETE FROM stored_events WHERE originator_id = ? AND originator_version = 4", (db.key(ticket),)) == 1

    assert found(ledger.verify_stream(ticket)["breaks"]) == [(str(ticket), 4, "removed")]
    assert found(ledger.verify_log().breaks) == [(str(ticket), 4, "removed")]


def test_an_event_slipped_into_the_database_is_inserted(ledger: Ledger, settings: Settings) -> None:
    ticket = some_history(ledger, random_ref("tenant-"))[1]
    last = ledger.recorder.select_events(ticket, desc=True, limit=1)[0]
    db = Database(ledger, settings.database_url)
    db.run("INSERT INTO stored_events (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
           (db.key(ticket), last.originator_version + 1, last.topic, last.state))

    breaks = [(str(ticket), last.originator_version + 1, "inserted")]
    assert found(ledger.verify_stream(ticket)["breaks"]) == breaks
    assert found(ledger.verify_log().breaks) == breaks


def test_the_last_event_of_a_stream_edited_is_found_by_its_stream_check(ledger: Ledger, settings: Settings) -> None:
    ticket = some_history(ledger, random_ref("tenant-"))[0]
    db = Database(ledger, settings.database_url)
    db.run("UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = 5", (b'{"text": "x"}', db.key(ticket)))

    assert found(ledger.verify_stream(ticket)["breaks"]) == [(str(ticket), 5, "altered")]
    assert not ledger.verify_stream(ticket)["verified"]


def test_a_rewrite_consistent_with_the_algorithm_is_caught_by_the_checkpoints(ledger: Ledger, settings: Settings) -> None:
    """An attacker who knows the algorithm edits an event, its hash and every later hash of its
    stream: the stream checks, but the log's running hash no longer matches the checkpoints."""
    tickets = some_history(ledger, random_ref("tenant-"))
    Checkpointer(ledger.recorder, every_events=4).step(force=True)
    ticket, edited_version = tickets[0], 2
    db = Database(ledger, settings.database_url)
    db.run("UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = ?",
           (b'{"text": "never said"}', db.key(ticket), edited_version))
    prev, rewritten = GENESIS, []
    for version, topic, state, recorded, position in ledger.recorder.select_chain_links(ticket):
        prev = event_hash(prev, str(ticket), version, topic, bytes(state))
        if version >= edited_version:
            db.run("UPDATE event_hashes SET hash = ? WHERE originator_id = ? AND originator_version = ?", (prev, db.key(ticket), version))
            rewritten.append(position)

    assert ledger.verify_stream(ticket)["verified"]  # the stream alone cannot tell
    report = ledger.verify_log()
    assert report.breaks == [] and report.checkpoint_breaks
    first = report.checkpoint_breaks[0]
    assert first["after_position"] < positions(ledger, ticket)[edited_version] <= first["position"]
    for caught in report.checkpoint_breaks:  # each interval caught holds a rewritten hash
        assert any(caught["after_position"] < p <= caught["position"] for p in rewritten)


def test_the_log_read_in_pages_of_any_size_gives_the_same_report(ledger: Ledger, settings: Settings) -> None:
    """The next page is read while this one is hashed: breaks and checkpoints still land where they are."""
    tickets = some_history(ledger, random_ref("tenant-"))
    Checkpointer(ledger.recorder, every_events=4).step(force=True)
    db = Database(ledger, settings.database_url)
    db.run("UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = 3", (b'{"text": "x"}', db.key(tickets[0])))
    db.run("DELETE FROM stored_events WHERE originator_id = ? AND originator_version = 2", (db.key(tickets[2]),))

    def report(page: int) -> dict[str, Any]:
        return {k: v for k, v in verify_log(ledger.recorder, page=page).as_dict().items() if k not in ("seconds", "events_per_second")}

    whole = report(10_000)
    assert found(whole["breaks"]) == sorted([(str(tickets[0]), 3, "altered"), (str(tickets[2]), 2, "removed")])
    assert whole["checkpoint_breaks"] and whole["events"] == ledger.recorder.max_notification_id() - 1
    for page in (1, 2, 3, 7):
        assert report(page) == whole


def test_two_writers_on_one_stream_at_once_never_break_its_chain(ledger: Ledger, settings: Settings) -> None:
    tenant, raced = random_ref("tenant-"), uuid4()
    ticket = a_ticket_with_notes(ledger, tenant, 1)
    with extra_ledgers(settings, 2) as (one, two):
        for version in range(1, 6):  # the store refuses the loser of a race for the same version
            state = b'{"text": "raced"}'
            answers = at_once([lambda r=one.recorder, v=version: r.insert_events([StoredEvent(raced, v, "race", state)]),
                               lambda r=two.recorder, v=version: r.insert_events([StoredEvent(raced, v, "race", state + b" ")])])
            assert sorted(isinstance(a, IntegrityError) for a in answers) == [False, True], answers
        # Commands racing through the write path: the losers decide again and append after the winner.
        at_once([lambda app=app, n=n: app.execute(AddInternalNote(context(tenant), ticket, text=f"race {n}"))
                 for n, app in enumerate([one, two, one, two])])
    assert ledger.verify_stream(raced)["verified"] and ledger.verify_stream(raced)["head_version"] == 5
    stream = ledger.verify_stream(ticket)
    assert stream["verified"], stream["breaks"]
    assert stream["head_version"] == 3 + 4
    assert ledger.verify_log().verified


def test_grouped_appends_of_several_commands_chain_each_stream(ledger: Ledger) -> None:
    tenant = random_ref("tenant-")
    tickets = [a_ticket_with_notes(ledger, tenant, 1) for _ in range(6)]
    inserts: list[int] = []
    insert = ledger.recorder.insert_events

    def held_insert(events: Sequence[StoredEvent]) -> Sequence[int] | None:
        inserts.append(len(events))
        if len(inserts) == 1:
            time.sleep(0.3)  # the log's lock held: the other commands queue and go as one group
        return insert(events)

    ledger.group_commit = GroupCommit(held_insert)
    started = threading.Barrier(len(tickets) + 1)

    def note(ticket: UUID) -> None:
        started.wait()
        ledger.execute(AddInternalNote(context(tenant), ticket, text="grouped"))

    threads = [threading.Thread(target=note, args=(t,)) for t in tickets]
    for t in threads:
        t.start()
    started.wait()
    ledger.execute(inbound(tenant))  # a new ticket's first events in a group with other streams' later ones
    for t in threads:
        t.join(30)

    assert max(inserts) > 2, inserts  # several commands' events went in one insert
    assert all(ledger.verify_stream(t)["verified"] for t in tickets)
    report = ledger.verify_log()
    assert report.verified, report.as_dict()


def test_events_from_before_chaining_began_are_unsealed_history_not_tampering(ledger: Ledger, settings: Settings) -> None:
    """A database from before this feature: its events have no hashes. Streams that start with
    them are reported as unsealed; their new events are chained from there."""
    tenant = random_ref("tenant-")
    old = a_ticket_with_notes(ledger, tenant, 2)
    db = Database(ledger, settings.database_url)
    db.run("DELETE FROM event_hashes")
    db.run("UPDATE event_chain_origin SET through_position = ?", (ledger.recorder.max_notification_id(),))
    fresh = build_ledger(settings)  # another process: no cached hashes
    try:
        fresh.execute(AddInternalNote(context(tenant), old, text="after the upgrade"))
    finally:
        fresh.close()
    stream = ledger.verify_stream(old)
    assert stream["verified"] and stream["unsealed_events"] == 4 and stream["head_version"] == 5
    report = ledger.verify_log()
    assert report.verified and report.unsealed_events > 0, report.as_dict()


def test_a_deleted_hash_row_without_its_event_counts_as_inserted_and_a_dangling_one_as_removed(
        ledger: Ledger, settings: Settings) -> None:
    ticket = some_history(ledger, random_ref("tenant-"))[1]
    db = Database(ledger, settings.database_url)
    db.run("DELETE FROM event_hashes WHERE originator_id = ? AND originator_version = 2", (db.key(ticket),))
    db.run("DELETE FROM stored_events WHERE originator_id = ? AND originator_version = 3", (db.key(ticket),))
    assert found(ledger.verify_log().breaks) == [(str(ticket), 2, "inserted"), (str(ticket), 3, "removed")]


def test_audit_verify_on_the_command_line_reports_each_break_and_exits_1(ledger: Ledger, settings: Settings, capsys) -> None:
    from ledgerdesk.interfaces.cli import main

    ticket = some_history(ledger, random_ref("tenant-"))[0]
    url = settings.database_url
    assert main(["audit", "checkpoint", "--database", url]) == 0
    assert "checkpoint 1 at position" in capsys.readouterr().out
    assert main(["audit", "verify", "--database", url]) == 0
    output = capsys.readouterr()
    assert output.out.startswith("verified: ") and "events/s" in output.out and "verifying" in output.err  # tqdm on stderr

    db = Database(ledger, url)
    db.run("UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = 2", (b'{}', db.key(ticket)))
    assert main(["audit", "verify", "--database", url]) == 1
    out = capsys.readouterr().out
    assert f"BREAK stream {ticket} version 2 altered at position {positions(ledger, ticket)[2]}" in out and "NOT verified" in out
    assert main(["audit", "verify", "--stream", str(ticket), "--json", "--database", url]) == 1
    assert [(b["version"], b["kind"]) for b in json.loads(capsys.readouterr().out)["breaks"]] == [(2, "altered")]


@pytest.fixture
def postgres_own_url(postgres_database_url: str) -> Iterator[str]:
    from tests.conftest import fresh_postgres_database

    with fresh_postgres_database("ledgerdesk_own_") as url:
        yield url


def test_hashes_stored_before_they_had_positions_get_them_at_the_next_start_and_verify(postgres_own_url: str) -> None:
    """On PostgreSQL each hash row keeps its event's position, for reading the log in order; a
    table from before that gains the column and has it filled when a recorder next starts."""
    settings = Settings(database_url=postgres_own_url, api_keys={}, default_phone_region="CN")
    with contextlib.closing(build_ledger(settings)) as old:
        some_history(old, random_ref("tenant-"))
        Checkpointer(old.recorder, every_events=5).step(force=True)
    with psycopg.connect(postgres_own_url, autocommit=True) as conn:
        conn.execute("DROP INDEX event_hashes_position_idx")
        conn.execute("ALTER TABLE event_hashes DROP COLUMN position")

    with contextlib.closing(build_ledger(settings)) as upgraded:
        with psycopg.connect(postgres_own_url) as conn:
            unfilled, rows = conn.execute("SELECT count(*) FILTER (WHERE h.position IS DISTINCT FROM e.notification_id), count(*) "
                                          "FROM event_hashes h JOIN ledger_events e USING (originator_id, originator_version)").fetchone()
        assert unfilled == 0 and rows == upgraded.recorder.max_notification_id()
        report = upgraded.verify_log()
        assert report.verified and report.events == rows, report.as_dict()


def test_a_hash_row_whose_position_is_unknown_or_wrong_is_still_matched_by_its_stream_and_version(postgres_own_url: str) -> None:
    """The position only speeds reading up: an older ledgerdesk still writing during an upgrade
    stores hashes without it, and a position is no evidence (the stream and version are)."""
    settings = Settings(database_url=postgres_own_url, api_keys={}, default_phone_region="CN")
    with contextlib.closing(build_ledger(settings)) as ledger:
        tickets = some_history(ledger, random_ref("tenant-"))
        Checkpointer(ledger.recorder, every_events=3).step(force=True)
        with psycopg.connect(postgres_own_url, autocommit=True) as conn:
            conn.execute("UPDATE event_hashes SET position = NULL WHERE originator_id = %s", (tickets[0],))
            conn.execute("UPDATE event_hashes SET position = position + 1 WHERE originator_id = %s AND originator_version = 2", (tickets[1],))
        report = ledger.verify_log()
        assert report.verified and report.events == ledger.recorder.max_notification_id(), report.as_dict()
        db = Database(ledger, postgres_own_url)
        db.run("UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = 3", (b'{"text": "x"}', tickets[0]))
        assert found(ledger.verify_log().breaks) == [(str(tickets[0]), 3, "altered")]
