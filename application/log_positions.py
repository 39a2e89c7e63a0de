"""Where a stored event sits in the log: its notification id, looked up by aggregate and version.

The library answers an event's position only when it is appended. A replayed command answers
the position of its first append again, which is its receipt's position (the receipt is the
last event of that append), so the position is read back here from the events table.
"""
from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier


def position_of(recorder: ApplicationRecorder, originator_id: UUID, originator_version: int) -> int | None:
    """The log position of one stored event; None when no such event is stored."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        # The library's SQLite log numbers events by the table's rowid.
        statement = f"SELECT rowid FROM {recorder.events_table_name} WHERE originator_id=? AND originator_version=?"
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (originator_id.hex, originator_version))
            row = cursor.fetchone()
        return None if row is None else int(row[0])
    if isinstance(recorder, PostgresApplicationRecorder):
        statement = SQL("SELECT notification_id FROM {schema}.{table} WHERE originator_id=%s AND originator_version=%s").format(
            schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name)
        )
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (originator_id, originator_version), prepare=True)
            row = cursor.fetchone()
        return None if row is None else int(row["notification_id"])
    if isinstance(recorder, POPOApplicationRecorder):
        # In memory: the n-th stored event is at position n.
        index = recorder._stored_events_index.get(str(originator_id), {}).get(originator_version)
        return None if index is None else index + 1
    raise TypeError(f"no way to read an event's position from a {type(recorder).__name__}")
