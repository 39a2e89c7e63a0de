"""Rows of one read-model table staged in memory for one batch of events, written once at its end.

A batch of events touches the same rows again and again (a ticket's row changes with each of
its events); reading each row once and writing it once keeps a rebuild close to the speed of
reading the log. Rows are plain dicts; the `generation` column is filled in here.
"""
from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Connection, Select, Table, and_, bindparam, select

_ABSENT = object()


@cache
def _load_statement(table: Table) -> Select:
    """One row by primary key: built once per table, so SQLAlchemy reuses its compiled form."""
    keys = [c for c in table.primary_key.columns if c.name != "generation"]
    values = [c for c in table.columns if c.name != "generation" and c not in keys]
    return select(*keys, *values).where(
        table.c.generation == bindparam("k_generation"), *(c == bindparam(f"k_{c.name}") for c in keys)
    )


class StagedTable:
    def __init__(self, conn: Connection, table: Table, generation: int) -> None:
        self.conn = conn
        self.table = table
        self.generation = generation
        self.key_columns = [c.name for c in table.primary_key.columns if c.name != "generation"]
        self.value_columns = [c.name for c in table.columns if c.name not in self.key_columns and c.name != "generation"]
        # key -> (row as stored in the database or None, current row or None)
        self._rows: dict[tuple, tuple[dict | None, dict | None]] = {}
        self._appended: list[dict] = []
        self._columns = (*self.key_columns, *self.value_columns)

    def _key(self, values: dict[str, Any]) -> tuple:
        return tuple(values[name] for name in self.key_columns)

    def get(self, **key: Any) -> dict | None:
        """The row with this primary key as of now in the batch, or None. Mutate it only through `put`."""
        k = self._key(key)
        staged = self._rows.get(k, _ABSENT)
        if staged is _ABSENT:
            stored = self._load(key)
            self._rows[k] = (stored, stored)
            return dict(stored) if stored is not None else None
        current = staged[1]
        return dict(current) if current is not None else None

    def put(self, row: dict[str, Any]) -> None:
        """Insert or replace the row with this primary key."""
        k = self._key(row)
        staged = self._rows.get(k, _ABSENT)
        if staged is _ABSENT:
            stored = self._load(row)
            staged = (stored, stored)
        self._rows[k] = (staged[0], {name: row.get(name) for name in (*self.key_columns, *self.value_columns)})

    def delete(self, **key: Any) -> None:
        k = self._key(key)
        staged = self._rows.get(k, _ABSENT)
        stored = self._load(key) if staged is _ABSENT else staged[0]
        self._rows[k] = (stored, None)

    def append(self, row: dict[str, Any]) -> None:
        """A row that is new by construction (its key holds the event's position): no lookup, plain insert."""
        self._appended.append(row)

    def _load(self, key: dict[str, Any]) -> dict | None:
        params = {f"k_{name}": key[name] for name in self.key_columns}
        params["k_generation"] = self.generation
        found = self.conn.execute(_load_statement(self.table), params).first()
        if found is None:
            return None
        return dict(zip(self._columns, found))

    def flush(self) -> None:
        t = self.table
        inserts, updates, deletes = [], [], []
        for stored, current in self._rows.values():
            if current is None:
                if stored is not None:
                    deletes.append({f"k_{n}": stored[n] for n in self.key_columns})
            elif stored is None:
                inserts.append({"generation": self.generation, **current})
            elif current != stored:
                updates.append({**{f"k_{n}": current[n] for n in self.key_columns}, **{f"v_{n}": current[n] for n in self.value_columns}})
        key_match = and_(
            t.c.generation == self.generation, *(t.c[n] == bindparam(f"k_{n}") for n in self.key_columns)
        )
        if deletes:
            self.conn.execute(t.delete().where(key_match), deletes)
        if updates and self.value_columns:
            self.conn.execute(t.update().where(key_match).values({n: bindparam(f"v_{n}") for n in self.value_columns}), updates)
        if inserts:
            self.conn.execute(t.insert(), inserts)
        if self._appended:
            self.conn.execute(t.insert(), [{"generation": self.generation, **row} for row in self._appended])
        self._rows.clear()
        self._appended.clear()
