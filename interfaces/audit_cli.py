"""`ledgerdesk audit verify|checkpoint`: check the stored history against its hash chains and checkpoints."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable
from uuid import UUID

from tqdm import tqdm

from .bootstrap import build_checkpointer, build_ledger
from .settings import Settings


def add_commands(sub: Any, database: dict[str, str], settings: Callable[[argparse.Namespace], Settings]) -> None:
    audit = sub.add_parser("audit", help="tamper evidence: verify the events' hash chains and the log's checkpoints")
    actions = audit.add_subparsers(dest="action", required=True)

    vf = actions.add_parser("verify", help="recompute every chain (or one stream's) and compare with what was recorded; "
                                           "exit status 1 when something was altered, removed or inserted")
    vf.add_argument("--stream", type=UUID, metavar="ID", help="only this stream (an aggregate's id)")
    vf.add_argument("--json", action="store_true", help="the report as one JSON object")
    vf.add_argument("--quiet", action="store_true", help="no progress bar")
    vf.add_argument("--database", **database)
    vf.set_defaults(func=lambda args: verify(args, settings(args)))

    cp = actions.add_parser("checkpoint", help="store a checkpoint of the log up to its head now "
                                               "(the projection process stores them every N events or T seconds)")
    cp.add_argument("--database", **database)
    cp.set_defaults(func=lambda args: checkpoint(args, settings(args)))


def verify(args: argparse.Namespace, settings: Settings) -> int:
    ledger = build_ledger(settings)
    try:
        if args.stream is not None:
            return _verify_stream(ledger.verify_stream(args.stream), args.json)
        head = ledger.recorder.max_notification_id() or 0
        with tqdm(total=head, unit="event", unit_scale=True, disable=args.quiet or args.json, file=sys.stderr,
                  desc="verifying") as bar:
            report = ledger.verify_log(bar.update).as_dict()
    finally:
        ledger.close()
    if args.json:
        print(json.dumps(report))
        return 0 if report["verified"] else 1
    for found in report["breaks"]:
        print(_break_line(found))
    for found in report["checkpoint_breaks"]:
        print(f"BREAK checkpoint {found['seq']} (positions {found['after_position']}..{found['position']}): {found['detail']}")
    rate = f"{report['events_per_second']:,} events/s" if report["events_per_second"] else "-"
    print(f"{'verified' if report['verified'] else 'NOT verified'}: {report['events']:,} events in {report['streams']:,} streams "
          f"up to position {report['head']:,}, {report['checkpoints']:,} checkpoints; {report['seconds']:.2f} s, {rate}; "
          f"{len(report['breaks']) + len(report['checkpoint_breaks'])} breaks")
    if report["unsealed_events"]:
        print(f"{report['unsealed_events']:,} events were appended before chaining began at {report['chain_began_at']}: "
              "unsealed, unverifiable before then")
    return 0 if report["verified"] else 1


def _break_line(found: dict[str, Any]) -> str:
    where = f" at position {found['position']}" if found["position"] is not None else ""
    return f"BREAK stream {found['stream_id']} version {found['version']} {found['kind']}{where}: {found['detail']}"


def _verify_stream(report: dict[str, Any], as_json: bool) -> int:
    if as_json:
        print(json.dumps(report))
        return 0 if report["verified"] else 1
    for found in report["breaks"]:
        print(_break_line(found))
    checkpoint = report["checkpoint"]
    covered = f"covered by checkpoint {checkpoint['seq']} at position {checkpoint['position']}" if checkpoint else "no checkpoint covers its head yet"
    print(f"{'verified' if report['verified'] else 'NOT verified'}: stream {report['stream_id']}, {report['events']} events, "
          f"head version {report['head_version']} hash {report['head_hash']}; {covered}")
    if report["unsealed_events"]:
        print(f"its first {report['unsealed_events']} events were appended before chaining began: unsealed")
    return 0 if report["verified"] else 1


def checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    ledger = build_ledger(settings)
    try:
        checkpointer = build_checkpointer(ledger, settings)
        moved, _ = checkpointer.step(force=True)
        latest = checkpointer.latest()
    finally:
        ledger.close()
    if latest is None:
        print("the log is empty: nothing to checkpoint")
    else:
        print(f"checkpoint {latest.seq} at position {latest.position} ({moved} positions newly covered): {latest.checkpoint_hash}")
    return 0
