"""`ledgerdesk replay --until TIMESTAMP|POSITION --to DATABASE_URL`: every read model as it stood then,
built into another database (projections/replay.py), with a progress bar and events/s at the end.

The target is migrated first and must be fresh; the live read models' database and the events'
database are refused. Serve it with LEDGERDESK_READ_MODEL_URL=<it> and LEDGERDESK_READ_ONLY=true.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import exc as sa
from sqlalchemy.engine import make_url

from ledgerdesk import migrations
from ledgerdesk.projections.catalog import all_read_models
from ledgerdesk.projections.projector import Projector
from ledgerdesk.projections.replay import NotFresh, position_at, replay
from ledgerdesk.projections.store import ReadStore

from .bootstrap import build_ledger
from .settings import Settings, sqlalchemy_url


def _place(url: str) -> tuple[Any, ...]:
    """Where a database URL points, comparable across spellings (driver, relative paths, localhost)."""
    parsed = make_url(sqlalchemy_url(url))
    if parsed.get_backend_name() == "sqlite":
        return ("sqlite", str(Path(parsed.database or "").resolve()))
    host = parsed.host or "localhost"
    return (parsed.get_backend_name(), "127.0.0.1" if host == "localhost" else host, parsed.port or 5432, parsed.database)


def refusal(target: str, settings: Settings) -> str | None:
    """Why `target` may not receive a replay, in one line; None when it may."""
    try:
        place = _place(target)
    except (sa.ArgumentError, ValueError) as error:
        return f"--to {target!r} is not a database URL ({error})"
    if place[0] not in ("sqlite", "postgresql"):
        return f"--to {target!r}: only sqlite:///PATH and postgresql://… are supported"
    if place == _place(settings.read_model_url()):
        return f"--to {target} is the live read models' database: name a fresh database"
    if place == _place(settings.database_url):
        return f"--to {target} is the events' database: name a fresh database"
    return None


def until_position(raw: str, head: int, log: Any) -> tuple[int, str]:
    """The position `--until` names (a position, or an RFC 3339 instant), and how to say it."""
    if re.fullmatch(r"[0-9]{1,19}", raw):
        position = int(raw)
        if position > head:
            raise ValueError(f"--until {position} is past the log's head ({head})")
        return position, f"position {position}"
    try:
        instant = datetime.fromisoformat(raw.upper()) if re.fullmatch(r"[0-9]{4}-.{2,40}", raw) else None
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise ValueError(f"--until is a log position or an instant with an offset (2026-11-11T23:59:59+08:00), not {raw[:60]!r}")
    position = position_at(log, instant)
    return position, f"{instant.isoformat()} (position {position})"


def replay_command(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    refused = refusal(args.to, settings)
    if refused is not None:
        print(f"ledgerdesk: refusing to replay: {refused}", file=sys.stderr)
        return 2
    ledger = build_ledger(settings)
    head = ledger.recorder.max_notification_id() or 0
    try:
        until, said = until_position(args.until, head, ledger.recorder)
    except ValueError as error:
        print(f"ledgerdesk: {error}", file=sys.stderr)
        return 2
    models = all_read_models()
    try:
        store = ReadStore(sqlalchemy_url(args.to))
        migrations.upgrade(store.write_engine)
        store.register(m.name for m in models)
    except sa.OperationalError as error:
        print(f"ledgerdesk: cannot open --to {args.to}: {' '.join(str(error.orig).split())[:300]}", file=sys.stderr)
        return 2
    projector = Projector(store, ledger.recorder, models)
    try:
        with tqdm(total=until, unit="ev", unit_scale=True, desc=f"replaying up to {said}", disable=args.quiet) as bar:
            report = replay(projector, models, until, progress=lambda _position, events: bar.update(events))
    except NotFresh as busy:
        print(f"ledgerdesk: refusing to replay: {busy}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(f"replayed {', '.join(report.names)} up to {said}: {report.events} events in {report.seconds:.1f} s "
          f"({report.events_per_second:,.0f} events/s) into {args.to}")
    print(f"serve it: LEDGERDESK_READ_MODEL_URL={args.to} LEDGERDESK_READ_ONLY=true ledgerdesk serve")
    return 0


def add_commands(sub: Any, database: dict[str, str], settings: Callable[[argparse.Namespace], Settings]) -> None:
    r = sub.add_parser("replay", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       help="build every read model as it stood at a past position or instant into another database")
    r.add_argument("--until", required=True, metavar="TIMESTAMP|POSITION",
                   help="a log position, or an instant with an offset (the last event stored at or before it)")
    r.add_argument("--to", required=True, metavar="DATABASE_URL", help="a fresh database: sqlite:///PATH or postgresql://…")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--database", **database)
    r.set_defaults(func=lambda args: replay_command(args, settings(args)))
