"""Raw mail into commands: a message when the bytes make one, a quarantined mail when they do not.

Shared by the email route and `ledgerdesk mail quarantine retry`, so a retry reads the stored
bytes exactly as a delivery would. A mail is never refused: what the parser cannot read, or
the domain will not take (a text over the size limit, an over-long id), is kept as evidence.
A transient failure (a conflict that outlasted the retries) is still an error: the gateway retries.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from ledgerdesk.application import commands as c
from ledgerdesk.application.errors import NotFound
from ledgerdesk.application.ledger import Ledger, Outcome
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.errors import IllegalTransition, InvalidValue
from ledgerdesk.domain.identity import Identity
from ledgerdesk.domain.message import MAX_ATTACHMENTS, MAX_TEXT, Attachment
from ledgerdesk.domain.quarantined_mail import QuarantinedMail

from .email_message import ParsedEmail, UnparseableEmail, parse_email


# Characters kept free, at the end of a message's text, for the notes of what was left out.
NOTES_ROOM = 200


@dataclass(frozen=True)
class MailOutcome:
    outcome: Outcome
    quarantined: bool


def message_command(context: c.CommandContext, email: ParsedEmail) -> c.ReceiveInboundMessage:
    text, attachments = _kept(email)
    return c.ReceiveInboundMessage(
        context,
        channel=Channel.EMAIL,
        external_thread_id=email.thread_id,
        external_user_id=email.sender,
        external_message_id=email.message_id,
        text=text,
        sent_at=email.sent_at,
        customer=c.CustomerHints(email=_email_address(email.sender), name=email.sender_name),
        attachments=attachments,
        subject=email.subject,
    )


def _kept(email: ParsedEmail) -> tuple[str, tuple[Attachment, ...]]:
    """The text and attachments a message holds: a mail past the limits is still a message, with a
    note of what was left out, rather than held back (a long quoted thread, a folder of photos)."""
    notes = []
    if len(email.attachments) > MAX_ATTACHMENTS:
        notes.append(f"[{len(email.attachments) - MAX_ATTACHMENTS} more attachments are not listed]")
    text = email.text
    if len(text) > MAX_TEXT - NOTES_ROOM:
        notes.insert(0, f"[the mail's text has {len(text)} characters: the first {MAX_TEXT - NOTES_ROOM} are kept]")
        text = text[: MAX_TEXT - NOTES_ROOM]
    kept = tuple(Attachment(a.name, a.content_type, a.size) for a in email.attachments[:MAX_ATTACHMENTS])
    return "\n\n".join([text, *notes]) if notes else text, kept


def _email_address(sender: str) -> str | None:
    """The sender as a customer email hint, if it is an address: a bare `foo` is a channel user id only."""
    try:
        Identity.email(sender)
    except InvalidValue:
        return None
    return sender


def take_in_mail(ledger: Ledger, context: c.CommandContext, raw: bytes) -> MailOutcome:
    received_at = ledger.clock()
    try:
        email = parse_email(raw, received_at=received_at)
    except UnparseableEmail as refused:
        return _quarantine(ledger, context, raw, refused.message, refused.field, received_at)
    try:
        return MailOutcome(ledger.execute(message_command(context, email)), quarantined=False)
    except (InvalidValue, IllegalTransition) as refused:
        return _quarantine(ledger, context, raw, refused.message, refused.field or "body", received_at)


def _quarantine(
    ledger: Ledger, context: c.CommandContext, raw: bytes, reason: str, field: str, received_at: datetime
) -> MailOutcome:
    # The bytes themselves key a quarantined mail, so it needs no Idempotency-Key receipt; one would
    # stand in the way of the same key's message command once a redelivery parses.
    command = c.QuarantineMail(replace(context, idempotent=False), raw, reason, field, received_at)
    return MailOutcome(ledger.execute(command), quarantined=True)


def retry_quarantined_mail(ledger: Ledger, context: c.CommandContext, quarantine_id: UUID) -> Outcome:
    """Reads the held bytes with today's parser; if they make a message, takes it in and releases the mail.

    Raises InvalidValue (naming the header or part at fault) when they still do not, and
    IllegalTransition when the mail was released already; nothing is stored then. The check
    that it is still held is the handler's, so a retried request with an Idempotency-Key replays.
    """
    try:
        mail: QuarantinedMail = ledger.aggregate(context.tenant, QuarantinedMail, quarantine_id)
    except NotFound:
        raise NotFound.of(QuarantinedMail, quarantine_id, "quarantine_id") from None
    try:
        email = parse_email(mail.raw, received_at=mail.received_at)
    except UnparseableEmail as refused:
        raise InvalidValue(f"the mail still cannot become a message: {refused.message}", field=refused.field) from None
    return ledger.execute(c.ReleaseQuarantinedMail(context, quarantine_id, message_command(context, email)))
