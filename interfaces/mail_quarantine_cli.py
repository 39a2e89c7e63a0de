"""`ledgerdesk mail quarantine list|retry`: an operator's view of mail that could not become a message."""
from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any, Callable
from uuid import UUID

from ledgerdesk.application.commands import CommandContext
from ledgerdesk.application.unit_of_work import load
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.errors import DomainError
from ledgerdesk.domain.quarantined_mail import QuarantinedMail
from ledgerdesk.projections.projector import Projector
from ledgerdesk.projections.quarantine import queries as quarantine
from ledgerdesk.projections.quarantine.projection import MailQuarantine

from .bootstrap import build_ledger, build_read_store
from .mail_intake import retry_quarantined_mail
from .settings import Settings

REASON_WIDTH = 60


def add_commands(sub: Any, database: dict[str, str], settings: Callable[[argparse.Namespace], Settings]) -> None:
    mail = sub.add_parser("mail", help="mail intake: quarantined mail")
    areas = mail.add_subparsers(dest="area", required=True)
    held = areas.add_parser("quarantine", help="mail that could not become a message: list, retry")
    actions = held.add_subparsers(dest="action", required=True)

    ls = actions.add_parser("list", help="quarantined mail, newest first")
    ls.add_argument("--tenant", help="only this tenant's (default: every tenant's)")
    ls.add_argument("--status", choices=quarantine.STATUSES, help="only held or only released mail")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    ls.add_argument("--database", **database)
    ls.set_defaults(func=lambda args: list_quarantined(args, settings(args)))

    rt = actions.add_parser("retry", help="read a quarantined mail again with today's parser; take it in if it now makes a message")
    rt.add_argument("quarantine_id", type=UUID)
    rt.add_argument("--tenant", help="the mail's tenant (default: read from the mail)")
    rt.add_argument("--actor", default="ledgerdesk-cli", help="who retries, for the audit trail (default: %(default)s)")
    rt.add_argument("--database", **database)
    rt.set_defaults(func=lambda args: retry(args, settings(args)))


def list_quarantined(args: argparse.Namespace, settings: Settings) -> int:
    ledger = build_ledger(settings)
    store = build_read_store(settings)
    # The list is as current as the log, whether or not a projection process is running.
    Projector(store, ledger.recorder, [MailQuarantine()]).catch_up()
    before = None
    if not args.json:
        print(f"{'quarantine id':<36}  {'tenant':<16} {'status':<8} {'received at':<25} {'bytes':>9}  {'field':<12} reason")
    while True:
        page = quarantine.quarantined_mail_list(store, args.tenant, args.status, before, quarantine.MAX_LIMIT)
        for item in page["items"]:
            if args.json:
                print(json.dumps(item, ensure_ascii=False))
            else:
                reason = item["reason"].replace("\n", " ")
                reason = reason if len(reason) <= REASON_WIDTH else reason[: REASON_WIDTH - 1] + "…"
                print(
                    f"{item['quarantine_id']:<36}  {item['tenant']:<16} {item['status']:<8} {item['received_at'][:25]:<25} "
                    f"{item['size']:>9}  {item['field']:<12} {reason}"
                )
        if page["next_before"] is None:
            return 0
        before = page["next_before"]


def retry(args: argparse.Namespace, settings: Settings) -> int:
    ledger = build_ledger(settings)
    tenant = args.tenant
    if tenant is None:
        found = load(ledger.repository, args.quarantine_id)
        if not isinstance(found, QuarantinedMail):
            print(f"no quarantined mail {args.quarantine_id}", file=sys.stderr)
            return 1
        tenant = found.tenant
    command_id = str(uuid.uuid4())
    context = CommandContext(
        tenant, Actor(ActorKind.SYSTEM, args.actor), command_id, command_id, reason="ledgerdesk mail quarantine retry"
    )
    try:
        outcome = retry_quarantined_mail(ledger, context, args.quarantine_id)
    except DomainError as refused:
        print(f"not released ({refused.field}): {refused.message}", file=sys.stderr)
        return 1
    result = outcome.result
    print(
        f"released {result['quarantine_id']} as message {result['message_id']} on ticket {result['ticket_id']}"
        + (" (the message had come in meanwhile)" if result["duplicate"] else "")
    )
    return 0
