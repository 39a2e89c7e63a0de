"""The library's SQLite recorder, with each event's hash stored in the events' own transaction.

The events' rows are exactly the library's. The hashes go to `event_hashes` after the events'
insert, in the same transaction: the insert took the file's write lock, so the previous
versions' hashes read there are the committed ones. See chain_records.py for the tables.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from ledgerdesk.domain.event_chain import Checkpoint

from .chain_records import LogRow, StreamRow
from .event_hashes import LastHashes, chain


MMAP_BYTES = 1 << 30
# SQLite keeps a UUID as 32 hex digits; the chain hashes it as str(UUID) does.
_DASHED = ("substr({id}, 1, 8) || '-' || substr({id}, 9, 4) || '-' || substr({id}, 13, 4) || '-' || "
           "substr({id}, 17, 4) || '-' || substr({id}, 21)")


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    reads_ahead = False  # chain_records.ChainRecords
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name)
        self.last_hashes = LastHashes()

    def construct_create_table_statements(self) -> list[str]:
        events = self.events_table_name
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS event_hashes (originator_id TEXT, originator_version INTEGER, hash TEXT NOT NULL, "
            "PRIMARY KEY (originator_id, originator_version)) WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS audit_checkpoints (seq INTEGER PRIMARY KEY, position INTEGER NOT NULL, "
            "running_hash TEXT NOT NULL, prev_checkpoint_hash TEXT NOT NULL, checkpoint_hash TEXT NOT NULL, created_at TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS event_chain_origin (id INTEGER PRIMARY KEY CHECK (id = 1), "
            "through_position INTEGER NOT NULL, began_at TEXT NOT NULL)",
            "INSERT OR IGNORE INTO event_chain_origin (id, through_position, began_at) "
            f"SELECT 1, COALESCE(MAX(rowid), 0), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now') FROM {events}",
        ]

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        with self.datastore.transaction(commit=True) as c:
            ids = self._insert_events(c, stored_events, **kwargs)  # takes the write lock
            rows = chain(stored_events, self.last_hashes, lambda keys: self._lookup(c, keys))
            c.executemany("INSERT INTO event_hashes VALUES (?,?,?)", [(i.hex, v, h) for i, v, h in rows])
        self.last_hashes.learn(rows)  # committed: from now on always right
        return ids

    @staticmethod
    def _lookup(c: SQLiteCursor, keys: list[tuple[UUID, int]]) -> dict[tuple[UUID, int], str]:
        found = {}
        for originator_id, version in keys:
            c.execute("SELECT hash FROM event_hashes WHERE originator_id=? AND originator_version=?", (originator_id.hex, version))
            row = c.fetchone()
            if row is not None:
                found[(originator_id, version)] = row[0]
        return found

    # -- what the audit reads (chain_records.ChainRecords) -------------------------------------

    def _rows(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.datastore.transaction(commit=False) as c:
            # Reading the log joins each event to its hash, all over the file: through a memory
            # map, not a read() per page missing from SQLite's small cache (x4 faster at 100k events).
            c.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            c.sqlite_cursor.row_factory = None  # plain tuples: cheaper than sqlite3.Row, unpacked the same
            c.execute(statement, params)
            return c.fetchall()

    def select_chain_links(self, originator_id: UUID) -> list[StreamRow]:
        rows = self._rows(
            f"SELECT e.originator_version, e.topic, e.state, h.hash, e.rowid FROM {self.events_table_name} e "
            "LEFT JOIN event_hashes h ON h.originator_id = e.originator_id AND h.originator_version = e.originator_version "
            "WHERE e.originator_id = ? ORDER BY e.originator_version", (originator_id.hex,))
        return [tuple(row) for row in rows]  # type: ignore[misc]

    def select_recorded_versions(self, originator_id: UUID) -> list[int]:
        rows = self._rows("SELECT originator_version FROM event_hashes WHERE originator_id = ? ORDER BY originator_version",
                          (originator_id.hex,))
        return [row[0] for row in rows]

    def select_log_links(self, after: int, limit: int) -> list[LogRow]:
        # The stream id spelled as str(UUID) by SQLite itself: no Python work per row.
        return self._rows(
            f"SELECT e.rowid, {_DASHED.format(id='e.originator_id')}, e.originator_version, e.topic, e.state, h.hash "
            f"FROM {self.events_table_name} e "
            "LEFT JOIN event_hashes h ON h.originator_id = e.originator_id AND h.originator_version = e.originator_version "
            "WHERE e.rowid > ? ORDER BY e.rowid LIMIT ?", (after, limit))

    def select_log_hashes(self, after: int, up_to: int, limit: int) -> list[tuple[int, str | None]]:
        rows = self._rows(
            f"SELECT e.rowid, h.hash FROM {self.events_table_name} e "
            "LEFT JOIN event_hashes h ON h.originator_id = e.originator_id AND h.originator_version = e.originator_version "
            "WHERE e.rowid > ? AND e.rowid <= ? ORDER BY e.rowid LIMIT ?", (after, up_to, limit))
        return [(row[0], row[1]) for row in rows]

    def select_orphan_hashes(self) -> list[tuple[str, int]]:
        rows = self._rows(
            f"SELECT h.originator_id, h.originator_version FROM event_hashes h LEFT JOIN {self.events_table_name} e "
            "ON e.originator_id = h.originator_id AND e.originator_version = h.originator_version WHERE e.originator_id IS NULL")
        return [(str(UUID(row[0])), row[1]) for row in rows]

    def chain_origin(self) -> tuple[int, datetime]:
        rows = self._rows("SELECT through_position, began_at FROM event_chain_origin WHERE id = 1")
        if not rows:
            return 0, datetime.fromtimestamp(0, timezone.utc)
        return rows[0][0], datetime.fromisoformat(rows[0][1])

    def select_checkpoints(self, limit: int | None = None, latest_first: bool = False) -> list[Checkpoint]:
        statement = "SELECT seq, position, running_hash, prev_checkpoint_hash, checkpoint_hash, created_at FROM audit_checkpoints "
        statement += "ORDER BY seq DESC" if latest_first else "ORDER BY seq"
        rows = self._rows(statement + (f" LIMIT {int(limit)}" if limit is not None else ""))
        return [Checkpoint(*row[:5], datetime.fromisoformat(row[5])) for row in rows]

    def insert_checkpoint(self, checkpoint: Checkpoint) -> None:
        cp = checkpoint
        with self.datastore.transaction(commit=True) as c:
            c.execute("INSERT INTO audit_checkpoints VALUES (?,?,?,?,?,?)",
                      (cp.seq, cp.position, cp.running_hash, cp.prev_checkpoint_hash, cp.checkpoint_hash, cp.created_at.isoformat()))
