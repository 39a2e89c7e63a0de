"""Raw RFC 5322 email into the fields of an inbound message: threading, text, attachments.

Pure translation with the standard library; no I/O. Must not import application or domain code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from html.parser import HTMLParser

_PLAUSIBLE_ADDRESS = re.compile(r'(?:[^@\s<>"]+|"[^"]*")@[^@\s<>]+')
_BRACKETED_ID = re.compile(r"<([^<>]*)>")
# Mailers label GBK/GB18030 and Big5-HKSCS text with the older, narrower names; the supersets read both.
_CHARSET_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "big5": "big5hkscs"}


@dataclass(frozen=True)
class EmailAttachment:
    name: str
    content_type: str
    size: int  # decoded payload size in bytes


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    thread_id: str
    sender_email: str
    sender_name: str | None
    subject: str | None
    text: str
    sent_at: datetime
    attachments: tuple[EmailAttachment, ...]


class UnparseableEmail(ValueError):
    """The bytes are not an email this channel can take; ``field`` names the header or part at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.message = message
        self.field = field


def parse_email(raw: bytes, *, received_at: datetime) -> ParsedEmail:
    """Parse one raw email; raises only UnparseableEmail, whatever the bytes."""
    try:
        return _parse(bytes(raw), received_at)
    except UnparseableEmail:
        raise
    except Exception as exc:  # the email package has crash bugs on hostile input; callers get one error type
        raise UnparseableEmail(f"the email could not be read ({type(exc).__name__}: {exc})", "body") from exc


def _parse(raw: bytes, received_at: datetime) -> ParsedEmail:
    if not raw.strip():
        raise UnparseableEmail("the request body is empty, not an email", "body")
    msg = message_from_bytes(raw, policy=policy.default)
    if not msg.keys():
        raise UnparseableEmail("no RFC 5322 header section found; this does not look like an email", "body")
    message_id = _first_id(_raw_header(msg, "Message-ID"))
    if not message_id:
        raise UnparseableEmail("missing or empty; it is the dedupe key, so none is invented", "Message-ID")
    thread_id = _first_id(_raw_header(msg, "References")) or _first_id(_raw_header(msg, "In-Reply-To"))
    sender_email, sender_name = _sender(msg)
    body, text = _body(msg)
    parts = list(_attachment_parts(msg))
    if msg.get_content_maintype() != "multipart" and body is not msg:
        parts = [msg]  # a single-part email whose only content is a file
    return ParsedEmail(
        message_id=message_id,
        thread_id=thread_id or message_id,
        sender_email=sender_email,
        sender_name=sender_name,
        subject=_clean(str(_header(msg, "Subject") or "")).strip() or None,
        text=_clean(text),
        sent_at=_sent_at(msg, received_at),
        attachments=tuple(_attachment(part, n) for n, part in enumerate(parts, start=1)),
    )


def _header(msg: EmailMessage, name: str):
    try:
        return msg[name]
    except Exception as exc:  # header parsing bugs are blamed on the header, which is more useful than "body"
        raise UnparseableEmail(f"malformed header ({type(exc).__name__}: {exc})", name) from exc


def _raw_header(msg: EmailMessage, name: str) -> str:
    # Ids need no decoding, and the raw value sidesteps parser bugs in the msg-id grammar.
    return next((_clean(value) for key, value in msg.raw_items() if key.lower() == name.lower()), "")


def _first_id(value: str) -> str:
    match = _BRACKETED_ID.search(value)
    return (match.group(1) if match else next(iter(value.split()), "")).strip()


def _sender(msg: EmailMessage) -> tuple[str, str | None]:
    header = _header(msg, "From")
    addresses = header.addresses if header is not None else ()
    address = _clean(addresses[0].addr_spec).strip().lower() if addresses else ""
    if not _PLAUSIBLE_ADDRESS.fullmatch(address):
        raise UnparseableEmail(f"no plausible sender address in {str(header or '')!r}", "From")
    return address, _clean(addresses[0].display_name).strip() or None


def _sent_at(msg: EmailMessage, received_at: datetime) -> datetime:
    header = _header(msg, "Date")
    if header is None or not str(header).strip():
        sent = received_at
    elif (sent := header.datetime) is None:
        raise UnparseableEmail(f"{str(header)!r} is not an RFC 5322 date", "Date")
    return sent if sent.utcoffset() is not None else sent.replace(tzinfo=UTC)


def _body(msg: EmailMessage) -> tuple[EmailMessage | None, str]:
    if (part := msg.get_body(preferencelist=("plain",))) is not None:
        return part, _decode(part).rstrip()
    if (part := msg.get_body(preferencelist=("html",))) is not None:
        return part, _html_to_text(_decode(part))
    return None, ""


def _decode(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(_CHARSET_SUPERSETS.get(charset, charset))
    except (LookupError, UnicodeDecodeError):  # mislabelled or unknown charset: keep what text we can
        text = payload.decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _attachment_parts(part: EmailMessage):
    children = part.get_payload() if part.get_content_maintype() == "multipart" else None
    if not isinstance(children, list):
        return
    attached = {id(child) for child in part.iter_attachments()}
    for child in children:
        if child.get_content_maintype() == "multipart":
            yield from _attachment_parts(child)  # nested alternative/related parts can carry files too
        elif id(child) in attached:
            yield child


def _attachment(part: EmailMessage, n: int) -> EmailAttachment:
    name = part.get_filename() or ""
    if "=?" in name:  # Outlook and Foxmail put RFC 2047 words inside the quoted filename
        try:
            name = str(make_header(decode_header(name)))
        except Exception:  # a name that will not decode is still better than none
            pass
    payload = part.get_payload(decode=True)
    size = len(payload) if isinstance(payload, bytes) else 0
    return EmailAttachment(_clean(name).strip() or f"attachment-{n}", part.get_content_type(), size)


class _HTMLText(HTMLParser):
    _SKIPPED = {"script", "style"}
    _BLOCKS = {"br", "p", "div", "li", "tr", "table", "blockquote", "hr", "h1", "h2", "h3", "h4", "h5", "h6"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        self._skipping += tag in self._SKIPPED
        if tag in self._BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag):
        self._skipping = max(0, self._skipping - (tag in self._SKIPPED))
        if tag in self._BLOCKS and tag != "br":
            self.chunks.append("\n")

    def handle_data(self, data):
        if not self._skipping:
            self.chunks.append(data)


def _html_to_text(markup: str) -> str:
    parser = _HTMLText()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.chunks).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _clean(text: str) -> str:
    # Raw 8-bit header bytes arrive as surrogate escapes and utf-7 can yield lone surrogates; neither encodes
    # to UTF-8 later, and PostgreSQL text cannot hold NUL.
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text.replace("\x00", "")
