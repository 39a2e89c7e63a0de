"""Intake: normalised messages from any channel, and raw RFC 5322 email."""
from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request

from ledgerdesk.application import commands as c
from ledgerdesk.domain.message import Attachment

from ..mail_intake import take_in_mail
from . import schemas as s
from .deps import CallerDep, LedgerDep
from .problems import UnsupportedMediaType, problem_responses
from .responses import PlainJSON, command_answer
from .routes_quarantine import QuarantineAnswer

router = APIRouter(prefix="/v1", tags=["intake"])

def _take_in(ledger: Any, command: c.ReceiveInboundMessage) -> PlainJSON:
    outcome = ledger.execute(command)
    # A message taken in before (another request, same channel and external message id) appends
    # nothing and answers 200 with "duplicate": true. A retried Idempotency-Key is not a
    # redelivery: it replays the first answer, 201 and all.
    return command_answer(outcome, 200 if outcome.redelivered else 201)


@router.post(
    "/inbound-messages",
    status_code=201,
    response_model=s.IntakeAnswer,
    summary="Take in one message from any channel",
    responses={200: {"model": s.IntakeAnswer, "description": "a redelivery: nothing appended"},
               **problem_responses(400, 403, 409, 413, 422)},
)
def inbound_message(body: s.InboundMessageIn, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    hints = c.CustomerHints(**body.customer.model_dump()) if body.customer else c.CustomerHints()
    command = c.ReceiveInboundMessage(
        caller.context(body.reason),
        channel=body.channel,
        external_thread_id=body.external_thread_id,
        external_user_id=body.external_user_id,
        external_message_id=body.external_message_id,
        text=body.text,
        sent_at=body.sent_at,
        customer=hints,
        order_id=body.order_id,
        attachments=tuple(Attachment(a.name, a.content_type, a.size) for a in body.attachments),
        subject=body.subject,
    )
    return _take_in(ledger, command)


MAIL_THREADS = 2
EMAIL_MEDIA_TYPE = "message/rfc822"


def _mail_threads(request: Request) -> anyio.CapacityLimiter:
    limiter = getattr(request.app.state, "mail_threads", None)
    if limiter is None:  # made on first use, inside the event loop it belongs to
        limiter = request.app.state.mail_threads = anyio.CapacityLimiter(MAIL_THREADS)
    return limiter


@router.post(
    "/channels/email/inbound",
    status_code=201,
    response_model=s.IntakeAnswer,
    summary="Take in one raw email (body: message/rfc822)",
    description="A mail is never refused for its content. Without a Message-ID it is keyed by the SHA-256 of its "
    "bytes (`sha256:<hex>`), so a redelivery of the same bytes is a duplicate. A mail that cannot become a message "
    "(no sender, no header section, nothing in it, or a value the domain refuses) is quarantined: kept with the "
    "reason and answered 202 with its `quarantine_id` (the same bytes again: the same id, nothing stored).",
    responses={
        200: {"model": s.IntakeAnswer, "description": "a redelivery: nothing appended"},
        202: {"model": QuarantineAnswer, "description": "quarantined: kept as evidence for an admin to retry"},
        **problem_responses(403, 409, 413, 415, 422),
    },
    openapi_extra={"requestBody": {"content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}}, "required": True}},
)
async def inbound_email(request: Request, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    context = caller.context()  # the role is checked before the body is read
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != EMAIL_MEDIA_TYPE:
        raise UnsupportedMediaType(f"the body is a raw email sent as {EMAIL_MEDIA_TYPE}, not {media_type[:60]!r}",
                                   field="Content-Type")
    raw = await request.body()  # at most LEDGERDESK_MAX_EMAIL_BODY_BYTES: body_limit.py refused more
    # Parsing mail is the costly part: a few threads at most, so a burst of large mails cannot
    # occupy every thread that serves commands.
    taken = await anyio.to_thread.run_sync(take_in_mail, ledger, context, raw, limiter=_mail_threads(request))
    if taken.quarantined:
        answer = command_answer(taken.outcome, 202)
        answer.headers["Location"] = f"/v1/mail/quarantine/{taken.outcome.result['quarantine_id']}"
        return answer
    return command_answer(taken.outcome, 200 if taken.outcome.redelivered else 201)
