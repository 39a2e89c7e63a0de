"""The library's PostgreSQL recorder, with large appends kept out of psycopg's pipeline mode.

eventsourcing inserts each append in pipeline mode while it holds the events table's EXCLUSIVE
lock. With a statement of several megabytes (a quarantined mail keeps its raw bytes as
evidence) the pipeline deadlocks inside psycopg (psycopg#685): the insert never finishes and
every writer queues behind the lock for good. Above PIPELINE_MAX_BYTES of event state the same
statements (lock, NOTIFY, insert) are sent one after another in one transaction instead: a few
round trips more for the rare large append, the same ordering guarantees.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

# A 6 MB statement went through the pipeline and a 7 MB one hung: well below both.
PIPELINE_MAX_BYTES = 1024 * 1024


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if sum(len(event.state) for event in stored_events) <= PIPELINE_MAX_BYTES:
            return super().insert_events(stored_events, **kwargs)
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            self._insert_stored_events(curs, stored_events, **kwargs)  # takes the lock and notifies first
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
