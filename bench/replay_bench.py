"""Replay benchmark: `ledgerdesk replay` events/s on a seeded log, beside merely reading that log.

    .venv/bin/python bench/replay_bench.py [--backends sqlite,postgres] [--tickets 300] [--profile PREFIX]

For each backend, in fresh scratch databases (dropped at the end): a log made by `seed_traffic`,
then (a) the reference, reading every event through the library's `select_notifications` in the
replay's batch size; (b) the replay of every read model into a fresh database up to the head, and
(c) up to half the head, each through the `ledgerdesk replay` command. It prints events/s and the
replay ÷ read ratio, and asserts nothing. With --profile, the replay to the head runs under
pyinstrument and its call tree is written to PREFIX-BACKEND.txt (the figures then include its overhead).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import psycopg

from ledgerdesk.interfaces.bootstrap import build_ledger
from ledgerdesk.interfaces.cli import main
from ledgerdesk.interfaces.seed import seed_traffic
from ledgerdesk.interfaces.settings import Settings
from ledgerdesk.projections.rebuild import REBUILD_BATCH_SIZE


@contextmanager
def scratch(backend: str, postgres_url: str, folder: str, name: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder}/{name}.db"
        return
    database = f"ldbench_{uuid.uuid4().hex[:8]}_{name}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    try:
        yield postgres_url.rsplit("/", 1)[0] + "/" + database
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def read_rate(settings: Settings) -> tuple[int, float]:
    ledger = build_ledger(settings)
    started, position, events = time.perf_counter(), 0, 0
    while batch := ledger.recorder.select_notifications(start=position, limit=REBUILD_BATCH_SIZE, inclusive_of_start=False):
        events += len(batch)
        position = batch[-1].id
    seconds = time.perf_counter() - started
    ledger.close()
    return events, events / seconds


@contextmanager
def profiled(path: Path) -> Iterator[None]:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    with profiler:
        yield
    path.write_text(profiler.output_text(unicode=True, show_all=False))


def replay_rate(database: str, until: int, target: str, profile: Path | None = None) -> float:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), profiled(profile) if profile else nullcontext():
        code = main(["replay", "--until", str(until), "--to", target, "--quiet", "--database", database])
    if code != 0:
        raise SystemExit(f"replay failed with {code}")
    found = re.search(r"\(([0-9,]+) events/s\)", out.getvalue())
    assert found is not None, out.getvalue()
    return float(found.group(1).replace(",", ""))


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--profile", metavar="PREFIX", help="profile the replay to the head into PREFIX-BACKEND.txt")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            with scratch(backend, args.postgres_url, folder, "log") as database:
                settings = Settings(database_url=database, api_keys={})
                ledger = build_ledger(settings)
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    seed_traffic(ledger, tickets=args.tickets)
                head = ledger.recorder.max_notification_id() or 0
                ledger.close()
                events, read = read_rate(settings)
                with scratch(backend, args.postgres_url, folder, "full") as full, \
                        scratch(backend, args.postgres_url, folder, "half") as half:
                    profile = Path(f"{args.profile}-{backend}.txt") if args.profile else None
                    whole = replay_rate(database, head, full, profile)
                    halfway = replay_rate(database, head // 2, half)
                print(f"{backend}: log of {events} events ({args.tickets} seeded tickets)")
                print(f"  read the log           {read:>10,.0f} events/s")
                print(f"  replay to the head     {whole:>10,.0f} events/s   replay ÷ read {whole / read:.2f}")
                print(f"  replay to half-way     {halfway:>10,.0f} events/s   (position {head // 2})")
                sys.stdout.flush()


if __name__ == "__main__":
    main_bench()
