"""The read-model database: engines, generations and tracking positions.

Writers (the projector) take the write lock at the start of each transaction (SQLite's
BEGIN IMMEDIATE, PostgreSQL's row locks on the generations table), so two projectors
following the same log never apply an event twice: the second waits, then sees the first's
position. Readers get a consistent snapshot per request.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, create_engine, event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .schema import projection_generations, projection_tracking


@dataclass(frozen=True)
class Generations:
    active: int
    active_position: int
    building: int | None
    building_position: int | None
    # Tenants held behind parked events (parking.py), per generation.
    held: dict[int, int] = field(default_factory=dict)

    def position_of(self, generation: int) -> int:
        if generation == self.active:
            return self.active_position
        if generation == self.building:
            return self.building_position or 0
        raise LookupError(f"no generation {generation}")


def _sqlite_engine(url: str, begin: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's `begin` decide how a transaction starts, not the sqlite3 module.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")
        # Read models are rebuilt from the log, and their position commits with their rows:
        # losing the last transactions to a power cut only means re-applying them.
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine


def _position_statements() -> dict[str, Any]:
    """The statements a projector runs on every batch, built once: building a SQLAlchemy statement
    and its cache key costs more than SQLite takes to run it (a follower's batches are small)."""
    g, t = projection_generations, projection_tracking
    position = select(g.c.active_generation, g.c.building_generation, t.c.generation, t.c.position, t.c.held_tenants).join(
        t, t.c.name == g.c.name
    ).where(g.c.name == bindparam("model"))
    at_generation = (t.c.name == bindparam("model"), t.c.generation == bindparam("gen"))
    active = select(g.c.active_generation).where(g.c.name == bindparam("model")).scalar_subquery()
    moving = (t.c.position >= bindparam("since"), t.c.position < bindparam("last"))
    return {
        "lowest_active": select(func.min(t.c.position), func.count()).join(
            g, (g.c.name == t.c.name) & (g.c.active_generation == t.c.generation)
        ).where(t.c.name.in_(bindparam("models", expanding=True))),
        "position": position,
        # Both rows: PostgreSQL re-reads a locked row's latest version after waiting for its
        # lock, but a joined row it does not lock comes from the statement's snapshot, which
        # would miss the position the projector it waited for has just committed.
        "position_locked": position.with_for_update(),
        "set_position": update(t).where(*at_generation).values(position=bindparam("to")),
        "set_position_at": update(t).where(*at_generation).values(position=bindparam("to"), moved_at=bindparam("at")),
        "skip": update(t).where(*at_generation, *moving).values(position=bindparam("last"), moved_at=bindparam("at")),
        "skip_active": update(t).where(t.c.name == bindparam("model"), t.c.generation == active, *moving)
        .values(position=bindparam("last"), moved_at=bindparam("at")),
    }


class ReadStore:
    def __init__(self, url: str, pool_size: int = 5) -> None:
        self.url = url
        self._statements = _position_statements()
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.write_engine = _sqlite_engine(url, "BEGIN IMMEDIATE")
            self.read_engine = _sqlite_engine(url, "BEGIN")
        else:
            # Read models are rebuilt from the log, and their position commits with their rows:
            # a commit lost to a crash (asynchronous commit) only means re-applying it, so the
            # projector does not wait for the WAL flush (SQLite: synchronous=NORMAL, likewise).
            self.write_engine = create_engine(
                url, pool_size=2, max_overflow=2, pool_pre_ping=True,
                connect_args={"options": "-c synchronous_commit=off"},
            )
            # One snapshot per request: a query of several statements never mixes two projector commits.
            self.read_engine = create_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, isolation_level="REPEATABLE READ"
            )

    def close(self) -> None:
        self.write_engine.dispose()
        self.read_engine.dispose()

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        with self.write_engine.begin() as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.read_engine.begin() as conn:
            yield conn

    def _insert_ignoring_conflicts(self, conn: Connection, table, rows: list[dict]) -> None:  # type: ignore[no-untyped-def]
        insert = (sqlite.insert if self.is_sqlite else postgresql.insert)(table)
        conn.execute(insert.on_conflict_do_nothing(), rows)

    def register(self, names: Iterable[str]) -> None:
        """Every read model starts at generation 1, position 0."""
        names = list(names)
        if not names:
            return
        with self.writing() as conn:
            self._insert_ignoring_conflicts(
                conn, projection_generations, [{"name": n, "active_generation": 1, "building_generation": None} for n in names]
            )
            self._insert_ignoring_conflicts(conn, projection_tracking, [{"name": n, "generation": 1, "position": 0} for n in names])

    def generations(self, conn: Connection, names: Iterable[str] | None = None, lock: bool = False) -> dict[str, Generations]:
        """Each read model's active (and building) generation and position; `lock` holds them until commit."""
        g = projection_generations
        query = select(g.c.name, g.c.active_generation, g.c.building_generation).order_by(g.c.name)
        if names is not None:
            query = query.where(g.c.name.in_(list(names)))
        if lock:
            query = query.with_for_update()
        rows = conn.execute(query).all()
        t = projection_tracking
        tracked = select(t.c.name, t.c.generation, t.c.position, t.c.held_tenants)
        if names is not None:
            tracked = tracked.where(t.c.name.in_([name for name, _, _ in rows]))
        positions, held = {}, {}
        for name, gen, position, held_tenants in conn.execute(tracked):
            positions[(name, gen)] = position
            if held_tenants:
                held.setdefault(name, {})[gen] = held_tenants
        return {
            name: Generations(
                active=active,
                active_position=positions.get((name, active), 0),
                building=building,
                building_position=positions.get((name, building)) if building is not None else None,
                held=held.get(name, {}),
            )
            for name, active, building in rows
        }

    def position(self, conn: Connection, name: str, generation: int | None = None, lock: bool = False) -> tuple[int, int, int]:
        """One read model's generation (the active one unless given), its position and how many of
        its tenants are held, in one statement; `lock` holds the model until commit."""
        query = self._statements["position_locked" if lock else "position"]
        rows = conn.execute(query, {"model": name}).all()
        if not rows:
            raise LookupError(f"no read model {name}")
        active, building = rows[0][0], rows[0][1]
        wanted = active if generation is None else generation
        if wanted not in (active, building):
            raise LookupError(f"read model {name} has no generation {wanted}")
        for _, _, tracked, position, held in rows:
            if tracked == wanted:
                return wanted, position, held
        return wanted, 0, 0

    def lowest_active_position(self, conn: Connection, names: list[str]) -> int | None:
        """The least position among these read models' active generations, in one statement; None
        if one of them has no position yet."""
        lowest, found = conn.execute(self._statements["lowest_active"], {"models": names}).one()
        return lowest if found == len(set(names)) else None

    def active_generation(self, conn: Connection, name: str) -> int:
        g = projection_generations
        found = conn.execute(select(g.c.active_generation).where(g.c.name == name)).scalar()
        return found if found is not None else 1

    def set_position(self, conn: Connection, name: str, generation: int, position: int, moved_at: datetime | None = None) -> None:
        if moved_at is None:
            conn.execute(self._statements["set_position"], {"model": name, "gen": generation, "to": position})
        else:
            conn.execute(self._statements["set_position_at"], {"model": name, "gen": generation, "to": position, "at": moved_at})

    def skip_to(self, name: str, generation: int | None, since: int, last: int, moved_at: datetime) -> bool:
        """Moves a read model from a position of at least `since` to `last`, in one statement, when the
        log between holds nothing it reads; False (nothing changed) when it stands elsewhere.

        Safe beside a projector holding the model's lock: that one only applies events after its
        own position and never moves it back past one it applied, and between `since` and `last`
        there is nothing to apply. Saves a transaction of four round trips per batch per idle model.
        """
        values = {"model": name, "gen": generation, "since": since, "last": last, "at": moved_at}
        with self.write_engine.begin() as conn:
            moved = conn.execute(self._statements["skip" if generation is not None else "skip_active"], values).rowcount
        return bool(moved)

    def record_error(self, name: str, message: str, at: datetime) -> None:
        """Notes a read model's failure that was no event's fault, for status to show; best effort,
        since the database may be what failed."""
        g, t = projection_generations, projection_tracking
        try:
            with self.writing() as conn:
                active = select(g.c.active_generation).where(g.c.name == name).scalar_subquery()
                conn.execute(
                    update(t).where(t.c.name == name, t.c.generation == active).values(last_error=message, last_error_at=at)
                )
        except Exception:  # noqa: BLE001 - the failure being recorded is already logged by the caller
            pass
