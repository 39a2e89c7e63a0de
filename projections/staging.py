"""Rows of one read-model table staged in memory for one batch of events, written once at its end.

A batch of events touches the same rows again and again (a ticket's row changes with each of
its events); reading each row once and writing it once keeps a rebuild close to the speed of
reading the log. Reads are the expensive part, so: a row written without being read first is
upserted at the end instead of looked up, and a read model can prefetch the rows a batch will
read in a few statements (`ReadModel.prefetch`). Rows are plain dicts; the `generation`
column is filled in here.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from operator import itemgetter
from typing import Any

from psycopg import sql as psycopg_sql
from sqlalchemy import Connection, Select, Table, and_, any_, bindparam, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

_ABSENT = object()
_UNKNOWN: Any = object()  # written blind: whether the database holds the row was never asked
PREFETCH_CHUNK = 500


def _columns(table: Table) -> tuple[list, list]:
    keys = [c for c in table.primary_key.columns if c.name != "generation"]
    values = [c for c in table.columns if c.name != "generation" and c not in keys]
    return keys, values


@cache
def _load_statement(table: Table) -> Select:
    """One row by primary key: built once per table, so SQLAlchemy reuses its compiled form."""
    keys, values = _columns(table)
    return select(*keys, *values).where(
        table.c.generation == bindparam("k_generation"), *(c == bindparam(f"k_{c.name}") for c in keys)
    )


@cache
def _prefetch_statement(table: Table, dialect: str) -> Select:
    """Rows by a list of keys, built once per table (a follower prefetches in every small batch,
    and building the statement cost more than running it). A composite key is read per value of
    its first column (a tenant, say) with an IN on the rest: an index range the planner always
    takes, unlike a long list of row values across the whole key.

    On PostgreSQL a single-column list is one array parameter (`= ANY(...)`) rather than an IN
    of one parameter per key: the statement's text is then the same whatever the keys, so it is
    not rendered, parsed and planned afresh for every list (a replay's prefetches ran ~5 ms each)."""
    keys, values = _columns(table)
    split = 1 if len(keys) > 1 else 0
    rest = keys[split:]
    if len(rest) == 1 and dialect == "postgresql":
        listed = rest[0] == any_(bindparam("p_keys", type_=postgresql.ARRAY(rest[0].type)))
    else:
        keys_in = bindparam("p_keys", expanding=True)
        listed = rest[0].in_(keys_in) if len(rest) == 1 else tuple_(*rest).in_(keys_in)
    return select(*keys, *values).where(
        table.c.generation == bindparam("p_generation"),
        *(c == bindparam(f"p_{c.name}") for c in keys[:split]),
        listed,
    )


@cache
def _upsert_statement(table: Table, dialect: str) -> Any:
    keys, values = _columns(table)
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    index = [table.c.generation, *keys]
    if not values:
        return insert.on_conflict_do_nothing(index_elements=index)
    return insert.on_conflict_do_update(index_elements=index, set_={c.name: insert.excluded[c.name] for c in values})


class _Compiled:
    """A statement compiled once for a dialect, run as a plain DBAPI executemany.

    SQLAlchemy's own executemany rebuilds every parameter set through its compiler, which cost
    a rebuild more than the database's inserts; the columns' bind processors (datetimes as
    SQLite text, JSON) still convert each value.
    """

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        binds = compiled.binds
        self.names = list(compiled.positiontup) if compiled.positional else list(binds)
        processors = compiled._bind_processors  # the columns' own conversions, keyed by bind name
        self.positional = compiled.positional
        first, *rest = self.names
        self._values = itemgetter(first, *rest) if rest else (lambda row: (row[first],))
        # Only the columns that have a conversion are visited per row (most have none).
        self._conversions = [(i, processors[name]) for i, name in enumerate(self.names) if name in processors]

    def parameters(self, rows: list[dict[str, Any]]) -> list[Any]:
        """Each row's values in the statement's order, converted (a None stays None, as SQL NULL)."""
        values_of, conversions = self._values, self._conversions
        if not conversions:
            return [values_of(row) for row in rows]
        params = []
        for row in rows:
            values = list(values_of(row))
            for i, process in conversions:
                if values[i] is not None:
                    values[i] = process(values[i])
            params.append(tuple(values))  # SQLAlchemy's executemany takes tuples or dicts
        return params

    def run(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        params = self.parameters(rows)
        if not self.positional:
            names = self.names
            params = [dict(zip(names, values)) for values in params]
        conn.exec_driver_sql(self.sql, params)


class _Copy:
    """Rows new by construction written to a PostgreSQL table with COPY FROM STDIN (psycopg's
    `Cursor.copy`): the server takes them about three times faster than as as many INSERTs, even
    pipelined as psycopg's executemany sends them. Values are converted as for the INSERT."""

    def __init__(self, table: Table, insert: _Compiled) -> None:
        self.insert = insert
        self.statement = psycopg_sql.SQL("COPY {} ({}) FROM STDIN").format(
            psycopg_sql.Identifier(table.name), psycopg_sql.SQL(", ").join(map(psycopg_sql.Identifier, insert.names))
        )

    def run(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(self.statement) as copy:  # type: ignore[union-attr]
            for values in self.insert.parameters(rows):
                copy.write_row(values)


@cache
def _compiled(table: Table, kind: str, dialect_name: str, dialect: Any) -> _Compiled:
    keys, values = _columns(table)
    key_match = and_(table.c.generation == bindparam("k_generation"), *(c == bindparam(f"k_{c.name}") for c in keys))
    if kind == "insert":
        statement = table.insert().values({c.name: bindparam(c.name, type_=c.type) for c in table.columns})
    elif kind == "upsert":
        statement = _upsert_statement(table, dialect_name).values({c.name: bindparam(c.name, type_=c.type) for c in table.columns})
    elif kind == "update":
        statement = table.update().where(key_match).values({c.name: bindparam(f"v_{c.name}", type_=c.type) for c in values})
    else:
        statement = table.delete().where(key_match)
    return _Compiled(statement, dialect)


@cache
def _copy(table: Table, dialect: Any) -> _Copy:
    return _Copy(table, _compiled(table, "insert", dialect.name, dialect))


class StagedTable:
    def __init__(self, conn: Connection, table: Table, generation: int) -> None:
        self.conn = conn
        self.table = table
        self.generation = generation
        self.key_columns = [c.name for c in table.primary_key.columns if c.name != "generation"]
        self.value_columns = [c.name for c in table.columns if c.name not in self.key_columns and c.name != "generation"]
        self._columns = (*self.key_columns, *self.value_columns)
        first, *rest = self.key_columns
        self._key = (lambda values: (values[first],)) if not rest else itemgetter(first, *rest)  # type: ignore[method-assign]
        # key -> (row as stored in the database, None when absent, or _UNKNOWN; current row or None)
        self._rows: dict[tuple, tuple[Any, dict | None]] = {}
        self._appended: list[dict] = []

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
        """Insert or replace the row with this primary key (give every column)."""
        k = self._key(row)
        staged = self._rows.get(k, _ABSENT)
        stored = _UNKNOWN if staged is _ABSENT else staged[0]
        self._rows[k] = (stored, dict(row))

    def delete(self, **key: Any) -> None:
        k = self._key(key)
        staged = self._rows.get(k, _ABSENT)
        stored = _UNKNOWN if staged is _ABSENT else staged[0]
        self._rows[k] = (stored, None)

    def append(self, row: dict[str, Any]) -> None:
        """A row that is new by construction (its key holds the event's position): no lookup, plain insert."""
        self._appended.append(row)

    def prefetch(self, keys: Iterable[dict[str, Any]]) -> None:
        """Reads the rows with these keys (absent ones are remembered absent) in a few statements."""
        wanted = {self._key(key): key for key in keys}
        missing = [k for k in wanted if k not in self._rows or self._rows[k][0] is _UNKNOWN]
        groups: dict[tuple, list[tuple]] = {}
        split = 1 if len(self.key_columns) > 1 else 0
        for k in missing:
            groups.setdefault(k[:split], []).append(k)
        query = _prefetch_statement(self.table, self.conn.dialect.name)
        one_rest = len(self.key_columns) - split == 1  # the IN lists values, else tuples of values
        for prefix, keys_of_group in groups.items():
            params: dict[str, Any] = {"p_generation": self.generation}
            params.update((f"p_{name}", value) for name, value in zip(self.key_columns, prefix))
            for start in range(0, len(keys_of_group), PREFETCH_CHUNK):
                chunk = keys_of_group[start : start + PREFETCH_CHUNK]
                params["p_keys"] = [k[-1] for k in chunk] if one_rest else [k[split:] for k in chunk]
                found = {}
                for row in self.conn.execute(query, params):
                    values = dict(zip(self._columns, row))
                    found[self._key(values)] = values
                for k in chunk:
                    stored = found.get(k)
                    staged = self._rows.get(k)
                    # A row written blind before the prefetch keeps what was written.
                    self._rows[k] = (stored, staged[1] if staged is not None else stored)

    def _load(self, key: dict[str, Any]) -> dict | None:
        params = {f"k_{name}": key[name] for name in self.key_columns}
        params["k_generation"] = self.generation
        found = self.conn.execute(_load_statement(self.table), params).first()
        if found is None:
            return None
        return dict(zip(self._columns, found))

    def flush(self) -> None:
        inserts, upserts, updates, deletes = [], [], [], []
        generation = self.generation
        for key, (stored, current) in self._rows.items():
            if current is None:
                if stored is not None:
                    deletes.append({"k_generation": generation, **{f"k_{n}": v for n, v in zip(self.key_columns, key)}})
            elif stored is None:
                inserts.append({"generation": generation, **current})
            elif stored is _UNKNOWN:
                upserts.append({"generation": generation, **current})
            elif current != stored:
                updates.append({"k_generation": generation, **{f"k_{n}": current[n] for n in self.key_columns},
                                **{f"v_{n}": current[n] for n in self.value_columns}})
        inserts += ({"generation": generation, **row} for row in self._appended)
        dialect = self.conn.dialect
        for kind, rows in (("delete", deletes), ("update", updates), ("insert", inserts), ("upsert", upserts)):
            if not rows or (kind == "update" and not self.value_columns):
                continue
            if kind == "insert" and dialect.name == "postgresql":
                _copy(self.table, dialect).run(self.conn, rows)
            else:
                _compiled(self.table, kind, dialect.name, dialect).run(self.conn, rows)
        self._rows.clear()
        self._appended.clear()
