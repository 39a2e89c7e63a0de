"""Quarantined mail: keep what cannot become a message, and release it once it can.

Both handlers are idempotent by content: the same bytes quarantined again are the mail already
held, and a release whose message came in meanwhile (a gateway redelivered the bytes after a
parser fix) points the mail at that message instead of taking it in twice.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from ledgerdesk.domain.quarantined_mail import QuarantinedMail
from ledgerdesk.domain.receipts import MessageReceipt

from . import commands as c
from .intake import intake_answer, receive_inbound_message
from .ports import LanguageDetector, no_language_detection
from .unit_of_work import UnitOfWork


def quarantine_answer(mail: QuarantinedMail, *, duplicate: bool) -> dict[str, Any]:
    return {
        "quarantine_id": str(mail.id),
        "status": str(mail.status),
        "reason": mail.reason,
        "field": mail.field,
        "sha256": mail.sha256,
        "size": mail.size,
        "duplicate": duplicate,
    }


def quarantine_mail(uow: UnitOfWork, cmd: c.QuarantineMail) -> dict[str, Any]:
    held = uow.find(QuarantinedMail, QuarantinedMail.id_for(uow.tenant, QuarantinedMail.digest(cmd.raw)))
    if held is not None:
        return quarantine_answer(held, duplicate=True)
    mail = QuarantinedMail.quarantine(uow.meta, uow.at, cmd.raw, cmd.reason, cmd.field, cmd.received_at)
    uow.add(mail)
    return quarantine_answer(mail, duplicate=False)


def release_quarantined_mail(
    uow: UnitOfWork,
    cmd: c.ReleaseQuarantinedMail,
    default_phone_region: str | None,
    detect_language: LanguageDetector = no_language_detection,
) -> dict[str, Any]:
    mail = uow.get(QuarantinedMail, cmd.quarantine_id, field="quarantine_id")
    mail.require_held()
    message = cmd.message
    taken_in = uow.find(MessageReceipt, MessageReceipt.id_for(uow.tenant, message.channel, message.external_message_id.strip()))
    if taken_in is not None:
        answer = intake_answer(taken_in, duplicate=True)
    else:
        answer = receive_inbound_message(uow, message, default_phone_region, detect_language)
    mail.release(
        uow.meta,
        uow.at,
        customer_id=UUID(answer["customer_id"]),
        conversation_id=UUID(answer["conversation_id"]),
        ticket_id=UUID(answer["ticket_id"]),
        message_id=UUID(answer["message_id"]),
    )
    return {"quarantine_id": str(mail.id), "status": str(mail.status), **answer}


QUARANTINE_HANDLERS = {c.QuarantineMail: quarantine_mail}
