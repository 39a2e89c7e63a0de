"""`ledgerdesk case export` (a case file as JSON or HTML) and `ledgerdesk audit verify-file` (check an
exported case offline: no database, no settings)."""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any, Callable
from uuid import UUID

from ledgerdesk.application.access_log import record_read
from ledgerdesk.application.case_files.scope import scope_from
from ledgerdesk.application.case_files.verification import check_case
from ledgerdesk.domain.errors import DomainError

from .settings import Settings


def add_commands(sub: Any, database: dict[str, str], settings: Callable[[argparse.Namespace], Settings]) -> None:
    case = sub.add_parser("case", help="case files: an order's, a customer's or a ticket's whole story, with proof")
    actions = case.add_subparsers(dest="action", required=True)
    ex = actions.add_parser("export", help="write a case file (JSON to verify offline, or a printable HTML document)")
    ex.add_argument("--tenant", required=True, help="the shop whose case it is")
    which = ex.add_mutually_exclusive_group(required=True)
    which.add_argument("--order", metavar="ORDER_ID", help="every ticket that linked this order")
    which.add_argument("--customer", type=UUID, metavar="ID", help="the customer, merged customers included")
    which.add_argument("--ticket", type=UUID, metavar="ID", help="the ticket and the tickets merged with it")
    ex.add_argument("--as-of", metavar="INSTANT", help="RFC 3339 with an offset, e.g. 2026-11-11T12:00:00+08:00 (default: now)")
    ex.add_argument("--lang", choices=("en", "zh"), default="en", help="the HTML document's language")
    ex.add_argument("--format", choices=("json", "html"), required=True)
    ex.add_argument("--out", required=True, type=Path, metavar="FILE")
    ex.add_argument("--database", **database)
    ex.set_defaults(func=lambda args: export(args, settings(args)))

    audit = _audit_group(sub)
    vf = audit.add_parser("verify-file", help="check an exported case file offline (no database): its events hash to the "
                                              "heads it claims and its readable part is what they say; exit status 1 if not")
    vf.add_argument("file", type=Path, metavar="CASE.json")
    vf.add_argument("--json", action="store_true", help="the report as one JSON object")
    vf.set_defaults(func=verify_file)


def _audit_group(sub: Any) -> Any:
    """The `audit` command's actions, made here or joined if another module made them ([audit] chain's
    `audit verify|checkpoint`)."""
    audit = sub.choices.get("audit") or sub.add_parser("audit", help="tamper evidence: hash chains, checkpoints, case files")
    found = [a for a in audit._actions if isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001 - argparse offers no getter
    return found[0] if found else audit.add_subparsers(dest="action", required=True)


def export(args: argparse.Namespace, settings: Settings) -> int:
    from .bootstrap import build_case_builder, build_ledger, build_read_store
    from .case_document import render_case
    from .http.inputs import parsed_instant

    try:
        scope = scope_from(args.order, args.customer, args.ticket)
        as_of = parsed_instant(args.as_of, "as_of") if args.as_of else None
    except DomainError as refused:
        print(f"ledgerdesk: {refused.field}: {refused.message}", file=sys.stderr)
        return 2
    ledger = build_ledger(settings)
    store = build_read_store(settings)
    try:
        now = ledger.clock()
        if as_of is not None and as_of > now:
            print(f"ledgerdesk: as_of: after now ({now.isoformat()})", file=sys.stderr)
            return 2
        case = build_case_builder(ledger, store)(args.tenant, scope, as_of, now)
        _record_export(ledger, args.tenant, f"{scope.kind}/{scope.value}", {"as_of": case["as_of"], "format": args.format})
    except DomainError as refused:
        print(f"ledgerdesk: {refused.field}: {refused.message}", file=sys.stderr)
        return 1
    finally:
        store.close()
        ledger.close()
    text = json.dumps(case, ensure_ascii=False, indent=1) + "\n" if args.format == "json" else render_case(case, args.lang)
    args.out.write_text(text, encoding="utf-8")
    print(f"{args.out}: {len(case['entries'])} entries in {len(case['proof']['streams'])} streams, "
          f"{len(case['tickets'])} tickets, as of {case['as_of']}; digest {case['proof']['digest']}")
    return 0


def verify_file(args: argparse.Namespace) -> int:
    try:
        case = json.loads(args.file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        print(f"NOT verified: {args.file} cannot be read as JSON: {error}")
        return 1
    check = check_case(case)
    if args.json:
        print(json.dumps({"verified": check.verified, "streams": check.streams, "events": check.events, "entries": check.entries,
                          "unsealed": check.unsealed, "digest": check.digest, "problems": check.problems}, ensure_ascii=False))
        return 0 if check.verified else 1
    for problem in check.problems:
        print(f"MISMATCH {problem}")
    if check.verified:
        print(f"OK: {check.events} events in {check.streams} streams hash to their heads; {check.entries} entries and "
              f"every ticket's facts match them; digest {check.digest}" + (f"; {check.unsealed} unsealed" if check.unsealed else ""))
        print("Not covered: each ticket's SLA clocks (computed from the SLA policies, not in the proof); compare the heads "
              "or their checkpoints with the shop's log (ledgerdesk audit verify) to know they are the shop's.")
        return 0
    print(f"NOT verified: {len(check.problems)} mismatches in {args.file}")
    return 1


def _record_export(ledger, tenant: str, target: str, detail: dict) -> None:  # type: ignore[no-untyped-def]
    """Every export is in the tenant's access log, like an auditor's read over HTTP: who (the
    operating-system user running the command), what, when."""
    record_read(ledger, tenant, f"cli:{getpass.getuser()}", "operator", "case_export", target, detail)
