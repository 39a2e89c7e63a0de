"""Raw RFC 5322 email into the fields of an inbound message: threading, text, attachments.

Real mail is messy, and refusing it loses the customer's message, so the parser takes in what it
can: a mail without a Message-ID is keyed by a hash of its bytes, a sender without a domain is
still a sender, a text in an odd part is still found, a missing or absurd date is the time of
receipt. It refuses (UnparseableEmail) only what cannot become a message at all, and the caller
keeps that as evidence rather than dropping it.

Pure translation with the standard library; no I/O. Must not import application or domain code.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage

from .http.inputs import CONTROL_CHARACTERS

_BRACKETED_ID = re.compile(r"<([^<>]*)>")
# Mailers label GBK/GB18030 and Big5-HKSCS text with the older, narrower names; the supersets read both.
# Windows-1252 text labelled Latin-1 is read as Windows-1252, as browsers do: its byte 0x85 is "…",
# which Latin-1 would read as NEL, a line break.
_CHARSET_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "big5": "big5hkscs",
                      "iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252"}
# A Date header outside these bounds is a broken clock or a forgery, not a send time; times later
# computations (SLA due dates, analytics days) can rely on stay inside them.
EARLIEST_SENT_AT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_SENT_AT = datetime(2100, 1, 1, tzinfo=UTC)
CONTENT_KEY_PREFIX = "sha256:"
# Bounds on the work one mail may cost. The standard library's header parsing grows with the
# square of a header's size (a 140 KB From of encoded words took 1.7 GB) and each MIME part costs
# about a millisecond, so a mail past these is quarantined with the reason before it is parsed.
MAX_PARSED_HEADER = 16 * 1024  # a From, Subject, Date or Content-* value; real ones stay under 2 KB
MAX_PARTS = 500
MAX_HTML = 2 * 1024 * 1024  # characters of markup read for the text
# Headers parsed into objects (the others are read raw, or not at all).
_PARSED_HEADERS = frozenset({"from", "subject", "date", "content-type", "content-disposition", "content-transfer-encoding"})
_BOUNDARY = re.compile(rb"""boundary\s*=\s*"?([^";\r\n]{1,200})""", re.IGNORECASE)
_HEADER_LINE = re.compile(rb"^([!-9;-~]+)[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.MULTILINE)
_NULL_ADDRESSES = {"", "<>"}
# Every way text breaks a line: CRLF and CR as mailers send them, and NEL, U+2028 and U+2029. A
# mail's text has its line breaks as "\n", so none of them ends up a space or a stray character.
_LINE_BREAK = re.compile("\r\n|[\r\x85\u2028\u2029]")


@dataclass(frozen=True)
class EmailAttachment:
    name: str
    content_type: str
    size: int  # decoded payload size in bytes


@dataclass(frozen=True)
class ParsedEmail:
    # The Message-ID, or `sha256:<hex of the raw bytes>` when there is none: either way the dedupe key.
    message_id: str
    thread_id: str
    # The From address, lower-cased: usually an email address, but a bare `foo` is a sender too.
    sender: str
    sender_name: str | None
    subject: str | None
    text: str
    sent_at: datetime
    attachments: tuple[EmailAttachment, ...]


class UnparseableEmail(ValueError):
    """The bytes cannot become a message; ``field`` names the header or part at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.message = message
        self.field = field


def content_key(raw: bytes) -> str:
    """The dedupe key of a mail without a Message-ID: the same bytes redelivered are the same mail."""
    return CONTENT_KEY_PREFIX + hashlib.sha256(raw).hexdigest()


def parse_email(raw: bytes, *, received_at: datetime) -> ParsedEmail:
    """Parse one raw email; raises only UnparseableEmail, whatever the bytes."""
    try:
        return _parse(bytes(raw), received_at)
    except UnparseableEmail:
        raise
    except Exception as exc:  # the email package has crash bugs on hostile input; callers get one error type
        raise UnparseableEmail(f"the email could not be read ({type(exc).__name__}: {exc})", "body") from exc


def _within_bounds(raw: bytes) -> None:
    """Refuses, before parsing, a mail whose parsing would cost out of all proportion."""
    parts = sum(raw.count(b"\n--" + boundary) for boundary in set(_BOUNDARY.findall(raw)))
    if parts > 2 * MAX_PARTS:
        raise UnparseableEmail(f"more than {MAX_PARTS} MIME parts", "body")
    for match in _HEADER_LINE.finditer(raw):
        name = match.group(1).decode("ascii", "replace")
        if name.lower() in _PARSED_HEADERS and len(match.group(2)) > MAX_PARSED_HEADER:
            raise UnparseableEmail(f"longer than {MAX_PARSED_HEADER} bytes", name)


def _parse(raw: bytes, received_at: datetime) -> ParsedEmail:
    if not raw.strip():
        raise UnparseableEmail("the request body is empty, not an email", "body")
    _within_bounds(raw)
    msg = message_from_bytes(raw, policy=policy.default)
    if not msg.keys():
        raise UnparseableEmail("no RFC 5322 header section found; this does not look like an email", "body")
    sender, sender_name = _sender(msg)
    message_id = _first_id(_raw_header(msg, "Message-ID")) or content_key(raw)
    thread_id = _first_id(_raw_header(msg, "References")) or _first_id(_raw_header(msg, "In-Reply-To"))
    subject = _clean(str(_header(msg, "Subject") or "")).strip() or None
    body = _body(msg)
    text = _readable(body) if body is not None else ""
    text = _clean(text if text.strip() else _fallback_text(msg))
    parts = list(_attachment_parts(msg))
    if msg.get_content_maintype() != "multipart" and body is not msg:
        parts = [msg]  # a single-part email whose only content is a file
    attachments = tuple(_attachment(part, n) for n, part in enumerate(parts, start=1))
    if not text.strip() and not attachments:
        if subject is None:
            raise UnparseableEmail("no text, no attachment and no subject: nothing to take in", "body")
        # A mail that is all subject ("Call me back re order 1042") still says something: keep it as the text.
        text = subject
    return ParsedEmail(
        message_id=message_id,
        thread_id=thread_id or message_id,
        sender=sender,
        sender_name=sender_name,
        subject=subject,
        text=text,
        sent_at=_sent_at(msg, received_at),
        attachments=attachments,
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
    """The first mailbox of From. Any non-null one will do: whether it is an email address is the domain's call."""
    header = _header(msg, "From")
    for address in header.addresses if header is not None else ():
        sender = _clean(address.addr_spec).strip().lower()
        if sender not in _NULL_ADDRESSES:
            return sender, _clean(address.display_name).strip() or None
    found = "no From header" if header is None else f"no sender address in {str(header)!r}"
    raise UnparseableEmail(f"{found}; a message needs someone it came from", "From")


def _year_written_in_full(sent: datetime, raw_date: str) -> bool:
    # The standard library reads a year of one or two digits as 19xx or 20xx ("0001" and "01" are
    # both 2001): a Date whose year is not written as the four digits it was read as is unreadable.
    # Not after a sign, so a zone such as +2001 does not count as the year.
    return re.search(f"(?<![0-9+-]){sent.year:04d}(?![0-9])", raw_date) is not None


def _sent_at(msg: EmailMessage, received_at: datetime) -> datetime:
    """The Date header if it is a plausible send time, else the time of receipt: a bad date never refuses a mail."""
    try:
        header = msg["Date"]
        sent = header.datetime if header is not None else None
        if sent is None or not _year_written_in_full(sent, _raw_header(msg, "Date")):
            return received_at
        if sent.utcoffset() is None:
            sent = sent.replace(tzinfo=UTC)
        return sent if EARLIEST_SENT_AT <= sent < LATEST_SENT_AT else received_at
    except Exception:  # unparseable, or out of range once its offset is applied (year 9999 at -12:00)
        return received_at


def _body(msg: EmailMessage) -> EmailMessage | None:
    """The human-readable part, as mail clients pick it: plain text first, then HTML (a report's first part too)."""
    plain = msg.get_body(preferencelist=("plain",))
    return plain if plain is not None else msg.get_body(preferencelist=("html",))


def _fallback_text(msg: EmailMessage) -> str:
    # No part a mail client would show: any text/* part is still what the sender wrote or was sent.
    for part in msg.walk():
        if part.get_content_maintype() == "text" and (text := _readable(part)).strip():
            return text
    payload = msg.get_payload()
    if msg.get_content_maintype() == "multipart" and isinstance(payload, str):
        # A multipart without a usable boundary (a broken delivery report) is one block of text.
        return _decode_bytes(payload.encode("utf-8", "surrogateescape"), msg.get_content_charset()).strip()
    return ""


def _readable(part: EmailMessage) -> str:
    text = _decode(part)
    return _html_to_text(text) if part.get_content_subtype() == "html" else text.rstrip()


def _decode(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True)
    return _decode_bytes(payload if isinstance(payload, bytes) else b"", part.get_content_charset())


def _decode_bytes(payload: bytes, charset: str | None) -> str:
    charset = charset or "utf-8"
    try:
        text = payload.decode(_CHARSET_SUPERSETS.get(charset, charset))
    except (LookupError, UnicodeDecodeError):
        try:  # a byte the superset leaves undefined (Windows-1252 has five) is read as labelled
            text = payload.decode(charset)
        except (LookupError, UnicodeDecodeError):  # mislabelled or unknown charset: keep what text we can
            text = payload.decode("utf-8", errors="replace")
    return _LINE_BREAK.sub("\n", text)


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


# HTML to text in one linear pass of a few scans: the standard library's HTMLParser takes time
# growing with the square of its input on markup such as "<!--" or "<a" repeated (a 160 KB mail
# cost 16 s of CPU) and raises on other malformed markup, and mail is hostile input.
_BLOCK_TAG = re.compile(r"</?(?:br|p|div|li|tr|table|blockquote|hr|h[1-6])\b[^<>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]*>")  # bounded by the next "<", so no input makes it rescan


def _without(markup: str, opening: str, closing: str) -> str:
    """`markup` without the spans from `opening` to `closing` (case-insensitive); an unclosed one runs to the end."""
    lowered, kept, at = markup.lower(), [], 0
    while (start := lowered.find(opening, at)) != -1:
        kept.append(markup[at:start])
        end = lowered.find(closing, start + len(opening))
        if end == -1:
            return "".join(kept)
        at = end + len(closing)
    kept.append(markup[at:])
    return "".join(kept)


def _html_to_text(markup: str) -> str:
    markup = _without(markup[:MAX_HTML], "<!--", "-->")
    for element in ("script", "style"):
        markup = _without(markup, f"<{element}", f"</{element}>")
    # After unescaping too: &#x2028; is a line break as much as the character itself.
    text = _LINE_BREAK.sub("\n", html.unescape(_TAG.sub("", _BLOCK_TAG.sub("\n", markup))))
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")


def _clean(text: str) -> str:
    # Raw 8-bit header bytes arrive as surrogate escapes and utf-7 can yield lone surrogates; neither encodes
    # to UTF-8 later, and PostgreSQL text cannot hold NUL.
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    # PostgreSQL text cannot hold NUL; the other control characters JSON intake refuses are
    # marked as unreadable, not dropped: a mail is kept as it came, and never refused for them.
    return _CONTROL.sub("\ufffd", text.replace("\x00", ""))
