"""Intake: normalised messages from any channel, and raw RFC 5322 email."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ledgerdesk.application import commands as c
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.domain.message import Attachment

from ..email_message import UnparseableEmail, parse_email
from . import schemas as s
from .deps import CallerDep, LedgerDep
from .responses import PlainJSON, command_answer

router = APIRouter(prefix="/v1", tags=["intake"])

MAX_EMAIL_BYTES = 25 * 1024 * 1024


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
    responses={200: {"model": s.IntakeAnswer, "description": "a redelivery: nothing appended"}},
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


@router.post(
    "/channels/email/inbound",
    status_code=201,
    response_model=s.IntakeAnswer,
    summary="Take in one raw email (body: message/rfc822)",
    openapi_extra={"requestBody": {"content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}}, "required": True}},
)
async def inbound_email(request: Request, caller: CallerDep, ledger: LedgerDep) -> PlainJSON:
    raw = await request.body()
    if len(raw) > MAX_EMAIL_BYTES:
        raise InvalidValue("the email is larger than 25 MiB", field="body")
    try:
        email = parse_email(raw, received_at=ledger.clock())
    except UnparseableEmail as e:
        raise InvalidValue(e.message, field=e.field) from None
    command = c.ReceiveInboundMessage(
        caller.context(),
        channel=Channel.EMAIL,
        external_thread_id=email.thread_id,
        external_user_id=email.sender_email,
        external_message_id=email.message_id,
        text=email.text,
        sent_at=email.sent_at,
        customer=c.CustomerHints(email=email.sender_email, name=email.sender_name),
        attachments=tuple(Attachment(a.name, a.content_type, a.size) for a in email.attachments),
        subject=email.subject,
    )
    return await run_in_threadpool(_take_in, ledger, command)
