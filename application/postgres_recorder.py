"""The library's PostgreSQL recorder, with each event's hash stored in the events' own transaction,
and large appends kept out of psycopg's pipeline mode.

Hashes: computed before the transaction (the previous versions' hashes come from the insert
itself, the cache, or one look-up of committed rows, which never change), then inserted into
`event_hashes` right after the events, behind the same table lock and in the same transaction,
in the same pipeline: no round trip more on a cache hit. See chain_records.py for the tables.

Large appends: eventsourcing inserts each append in pipeline mode while it holds the events
table's EXCLUSIVE lock. With a statement of several megabytes (a quarantined mail keeps its raw
bytes as evidence) the pipeline deadlocks inside psycopg (psycopg#685): the insert never
finishes and every writer queues behind the lock for good. Above PIPELINE_MAX_BYTES of event
state the same statements (lock, NOTIFY, insert) are sent one after another in one transaction
instead: a few round trips more for the rare large append, the same ordering guarantees.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Identifier, Literal

from ledgerdesk.domain.event_chain import Checkpoint

from .chain_records import LogRow, StreamRow
from .event_hashes import HashRow, LastHashes, chain

# A 6 MB statement went through the pipeline and a 7 MB one hung: well below both.
PIPELINE_MAX_BYTES = 1024 * 1024


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    reads_ahead = True  # chain_records.ChainRecords
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.last_hashes = LastHashes()
        names = {"schema": Identifier(self.datastore.schema), "events": Identifier(self.events_table_name),
                 "schema_name": Literal(self.datastore.schema)}
        self._sql = {key: SQL(text).format(**names) for key, text in _STATEMENTS.items()}
        self.sql_create_statements.extend(self._sql[key] for key in (
            "create_hashes", "add_hash_positions", "fill_hash_positions", "index_hash_positions",
            "create_checkpoints", "create_origin", "origin"))

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        rows = chain(stored_events, self.last_hashes, self._lookup)
        if sum(len(event.state) for event in stored_events) <= PIPELINE_MAX_BYTES:
            ids = super().insert_events(stored_events, hash_rows=rows, **kwargs)
        else:
            with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
                self._insert_events(curs, stored_events, **kwargs)
                self._insert_stored_events(curs, stored_events, hash_rows=rows, **kwargs)  # takes the lock and notifies first
                ids = self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        self.last_hashes.learn(rows)  # committed: from now on always right
        return ids

    def _insert_stored_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        super()._insert_stored_events(curs, stored_events, **kwargs)  # lock, notify, insert the events
        rows: list[HashRow] = kwargs["hash_rows"]
        # Another cursor: the events' cursor still holds the positions the insert returned.
        curs.connection.cursor().execute(
            self._sql["insert_hashes"], ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]), prepare=True)

    def _lookup(self, keys: list[tuple[UUID, int]]) -> dict[tuple[UUID, int], str]:
        rows = self._rows("lookup", ([k[0] for k in keys], [k[1] for k in keys]))
        return {(row[0], row[1]): row[2] for row in rows}

    # -- what the audit reads (chain_records.ChainRecords) -------------------------------------

    def _rows(self, key: str, params: Sequence[Any] = (), binary: bool = False) -> list[Any]:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row, binary=binary) as curs:
            curs.execute(self._sql[key], params, prepare=True)
            return curs.fetchall()

    def select_chain_links(self, originator_id: UUID) -> list[StreamRow]:
        return self._rows("stream_links", (originator_id,))

    def select_recorded_versions(self, originator_id: UUID) -> list[int]:
        return [row[0] for row in self._rows("recorded_versions", (originator_id,))]

    def select_log_links(self, after: int, limit: int) -> list[LogRow]:
        # In binary: the states come as they are stored, where text would have the server spell
        # every byte in hex and psycopg parse it back (reading the log took twice the time).
        rows: list[LogRow] = self._rows("log_links", (after, after, limit), binary=True)
        # The position only speeds the match up: an event it did not match (history from before
        # chaining, a row slipped in, or a hash whose position is not filled yet, written by an
        # older ledgerdesk during an upgrade) is looked up by stream and version, as it always was.
        unmatched = [(row[1], row[2]) for row in rows if row[5] is None]
        if not unmatched:
            return rows
        found = {(str(stream), version): hash_ for (stream, version), hash_ in self._lookup([(UUID(s), v) for s, v in unmatched]).items()}
        return [row if row[5] is not None else (*row[:5], found.get((row[1], row[2]))) for row in rows]  # type: ignore[misc]

    def select_log_hashes(self, after: int, up_to: int, limit: int) -> list[tuple[int, str | None]]:
        return self._rows("log_hashes", (after, up_to, limit))

    def select_orphan_hashes(self) -> list[tuple[str, int]]:
        return [(str(row[0]), row[1]) for row in self._rows("orphans")]

    def chain_origin(self) -> tuple[int, datetime]:
        rows = self._rows("read_origin")
        return (rows[0][0], rows[0][1]) if rows else (0, datetime.fromtimestamp(0, timezone.utc))

    def select_checkpoints(self, limit: int | None = None, latest_first: bool = False) -> list[Checkpoint]:
        rows = self._rows("checkpoints_desc" if latest_first else "checkpoints", (limit,))
        return [Checkpoint(*row) for row in rows]

    def insert_checkpoint(self, checkpoint: Checkpoint) -> None:
        cp = checkpoint
        with self.datastore.get_connection() as conn:
            conn.execute(self._sql["insert_checkpoint"],
                         (cp.seq, cp.position, cp.running_hash, cp.prev_checkpoint_hash, cp.checkpoint_hash, cp.created_at))


# Hashes are matched to events by position (a merge of two scans in log order: a fifth of the
# server's time of one key look-up per event) and by stream and version, which is what identifies
# them: select_log_links looks up by key the few events the position did not match.
_LOG_JOIN = ("LEFT JOIN {schema}.event_hashes h ON h.position = e.notification_id AND h.originator_id = e.originator_id "
             "AND h.originator_version = e.originator_version AND h.position > %s")
_JOIN = "LEFT JOIN {schema}.event_hashes h ON h.originator_id = e.originator_id AND h.originator_version = e.originator_version"
_CHECKPOINT_COLUMNS = "seq, position, running_hash, prev_checkpoint_hash, checkpoint_hash, created_at"
_STATEMENTS = {
    "create_hashes": "CREATE TABLE IF NOT EXISTS {schema}.event_hashes (originator_id uuid NOT NULL, "
    "originator_version bigint NOT NULL, hash text NOT NULL, position bigint, PRIMARY KEY (originator_id, originator_version))",
    # Tables made before hashes had their event's position: the column added (only if missing, so
    # that no start waits for the table's lock), and filled once; later starts find no row to fill.
    "add_hash_positions": "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = "
    "{schema_name} AND table_name = 'event_hashes' AND column_name = 'position') THEN "
    "ALTER TABLE {schema}.event_hashes ADD COLUMN IF NOT EXISTS position bigint; END IF; END $$",
    "index_hash_positions": "CREATE INDEX IF NOT EXISTS event_hashes_position_idx ON {schema}.event_hashes (position)",
    "fill_hash_positions": "UPDATE {schema}.event_hashes h SET position = e.notification_id FROM {schema}.{events} e "
    "WHERE h.position IS NULL AND e.originator_id = h.originator_id AND e.originator_version = h.originator_version",
    "create_checkpoints": "CREATE TABLE IF NOT EXISTS {schema}.audit_checkpoints (seq bigint PRIMARY KEY, "
    "position bigint NOT NULL, running_hash text NOT NULL, prev_checkpoint_hash text NOT NULL, "
    "checkpoint_hash text NOT NULL, created_at timestamptz NOT NULL)",
    "create_origin": "CREATE TABLE IF NOT EXISTS {schema}.event_chain_origin (id int PRIMARY KEY CHECK (id = 1), "
    "through_position bigint NOT NULL, began_at timestamptz NOT NULL)",
    "origin": "INSERT INTO {schema}.event_chain_origin (id, through_position, began_at) "
    "SELECT 1, COALESCE(MAX(notification_id), 0), now() FROM {schema}.{events} ON CONFLICT (id) DO NOTHING",
    # The events were inserted just before, in this transaction: their positions are known here.
    "insert_hashes": "INSERT INTO {schema}.event_hashes (originator_id, originator_version, hash, position) "
    "SELECT u.id, u.version, u.hash, e.notification_id FROM unnest(%s::uuid[], %s::bigint[], %s::text[]) AS u(id, version, hash) "
    "LEFT JOIN {schema}.{events} e ON e.originator_id = u.id AND e.originator_version = u.version",
    "lookup": "SELECT originator_id, originator_version, hash FROM {schema}.event_hashes "
    "WHERE (originator_id, originator_version) IN (SELECT * FROM unnest(%s::uuid[], %s::bigint[]))",
    "stream_links": "SELECT e.originator_version, e.topic, e.state, h.hash, e.notification_id FROM {schema}.{events} e "
    + _JOIN + " WHERE e.originator_id = %s ORDER BY e.originator_version",
    "recorded_versions": "SELECT originator_version FROM {schema}.event_hashes WHERE originator_id = %s ORDER BY originator_version",
    "log_links": "SELECT e.notification_id, e.originator_id::text, e.originator_version, e.topic, e.state, h.hash "
    "FROM {schema}.{events} e " + _LOG_JOIN + " WHERE e.notification_id > %s ORDER BY e.notification_id LIMIT %s",
    "log_hashes": "SELECT e.notification_id, h.hash FROM {schema}.{events} e " + _JOIN
    + " WHERE e.notification_id > %s AND e.notification_id <= %s ORDER BY e.notification_id LIMIT %s",
    "orphans": "SELECT h.originator_id, h.originator_version FROM {schema}.event_hashes h LEFT JOIN {schema}.{events} e "
    "ON e.originator_id = h.originator_id AND e.originator_version = h.originator_version WHERE e.originator_id IS NULL",
    "read_origin": "SELECT through_position, began_at FROM {schema}.event_chain_origin WHERE id = 1",
    "checkpoints": "SELECT " + _CHECKPOINT_COLUMNS + " FROM {schema}.audit_checkpoints ORDER BY seq LIMIT %s",
    "checkpoints_desc": "SELECT " + _CHECKPOINT_COLUMNS + " FROM {schema}.audit_checkpoints ORDER BY seq DESC LIMIT %s",
    "insert_checkpoint": "INSERT INTO {schema}.audit_checkpoints (" + _CHECKPOINT_COLUMNS + ") VALUES (%s, %s, %s, %s, %s, %s)",
}
