"""Reference A for bench/http_bench.py: the cheapest useful write over HTTP.

A minimal FastAPI app served by uvicorn exactly as `ledgerdesk serve` serves ledgerdesk
(same uvicorn.run settings: httptools + uvloop when installed, no access log), with

* ``POST /v1/items`` {"text": ...} -> 201: a plain ``def`` endpoint (so it runs in the
  same anyio thread pool as ledgerdesk's endpoints) doing one one-row INSERT and a commit;
* ``GET /ping`` -> 200: an ``async def`` that touches nothing, used to check that the
  load generator is not the bottleneck.

The database is the same kind as ledgerdesk's under test:

* ``sqlite:///PATH``: stdlib sqlite3, WAL journal, default synchronous (as the
  eventsourcing library leaves it), one connection per pool thread;
* ``postgresql://...``: psycopg 3 with a psycopg_pool.ConnectionPool (10..20 connections,
  as ledgerdesk's default pool size 10 + overflow 10).

Run:  python bench/reference_app.py PORT DATABASE_URL
"""
from __future__ import annotations

import sqlite3
import sys
import threading
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field

CREATE_TABLE = "CREATE TABLE IF NOT EXISTS bench_items (id TEXT PRIMARY KEY, text TEXT NOT NULL, created_at TEXT NOT NULL)"
INSERT = "INSERT INTO bench_items (id, text, created_at) VALUES ({p}, {p}, {p})"


class ItemIn(BaseModel):
    text: str = Field(min_length=1, max_length=64_000)


def sqlite_inserter(path: str) -> Callable[[str, str, str], None]:
    local = threading.local()
    sql = INSERT.format(p="?")

    def connection() -> sqlite3.Connection:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            local.conn = conn
        return conn

    with sqlite3.connect(path, timeout=30) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute(CREATE_TABLE)

    def insert(item_id: str, text: str, created_at: str) -> None:
        conn = connection()
        conn.execute(sql, (item_id, text, created_at))
        conn.commit()

    return insert


def postgres_inserter(url: str) -> Callable[[str, str, str], None]:
    from psycopg_pool import ConnectionPool

    pool = ConnectionPool(url, min_size=10, max_size=20, open=True)
    pool.wait()
    sql = INSERT.format(p="%s")
    with pool.connection() as conn:
        conn.execute(CREATE_TABLE)

    def insert(item_id: str, text: str, created_at: str) -> None:
        with pool.connection() as conn:  # commits on leaving the block
            conn.execute(sql, (item_id, text, created_at))

    return insert


def create_app(database_url: str) -> FastAPI:
    if database_url.startswith("sqlite:///"):
        insert = sqlite_inserter(database_url[len("sqlite:///") :])
    elif database_url.startswith(("postgresql://", "postgres://")):
        insert = postgres_inserter(database_url)
    else:
        raise SystemExit(f"unsupported database URL {database_url!r}")

    app = FastAPI(title="ledgerdesk bench reference A")

    @app.post("/v1/items", status_code=201)
    def add_item(body: ItemIn) -> dict[str, Any]:
        item_id = str(uuid.uuid4())
        insert(item_id, body.text, datetime.now(timezone.utc).isoformat())
        return {"id": item_id}

    @app.get("/ping")
    async def ping() -> dict[str, Any]:
        return {"ok": True}

    return app


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        raise SystemExit("usage: python bench/reference_app.py PORT DATABASE_URL")
    port, database_url = int(argv[1]), argv[2]
    # The same call `ledgerdesk serve` makes (interfaces/cli.py), so both servers run alike.
    uvicorn.run(create_app(database_url), host="127.0.0.1", port=port, access_log=False, log_level="info")


if __name__ == "__main__":
    main(sys.argv)
