"""The QuarantinedMail aggregate: evidence kept as received, one per (tenant, bytes), released once."""
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from ledgerdesk.domain.audit import Actor, ActorKind, AuditMeta
from ledgerdesk.domain.errors import IllegalTransition
from ledgerdesk.domain.quarantined_mail import MAX_REASON, QuarantinedMail, QuarantineStatus

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)
RAW = b"From: MAILER DAEMON <>\r\n\r\n\x00\xff binary as received"


def meta(tenant: str = "shop") -> AuditMeta:
    return AuditMeta(tenant, Actor(ActorKind.INTEGRATOR, "mail-gateway"), "cmd-1", "cmd-1")


def test_the_mail_keeps_the_exact_bytes_with_why_and_where():
    mail = QuarantinedMail.quarantine(meta(), AT, RAW, "no sender address in 'MAILER DAEMON <>'", "From", AT)

    assert mail.raw == RAW and mail.size == len(RAW) and mail.status is QuarantineStatus.HELD
    assert (mail.reason, mail.field, mail.received_at) == ("no sender address in 'MAILER DAEMON <>'", "From", AT)
    assert mail.id == QuarantinedMail.id_for("shop", mail.sha256)


def test_the_id_is_the_same_for_the_same_tenant_and_bytes_and_keeps_tenants_apart():
    digest = QuarantinedMail.digest(RAW)

    assert QuarantinedMail.id_for("shop", digest) == QuarantinedMail.id_for("shop", digest)
    assert QuarantinedMail.id_for("shop", digest) != QuarantinedMail.id_for("shop|x", digest)
    # With "tenant|digest" keys, these two would be one id.
    assert QuarantinedMail.id_for("a|b", "c") != QuarantinedMail.id_for("a", "b|c")


def test_a_reason_is_kept_short_and_printable_whatever_the_header_held():
    mail = QuarantinedMail.quarantine(meta(), AT, RAW, "bad\x00header " + "x" * 5000, "From\x07", AT)

    assert len(mail.reason) == MAX_REASON and "\x00" not in mail.reason and mail.reason.endswith("…")
    assert mail.field == "From\ufffd"


def test_a_mail_is_released_once_naming_what_it_became():
    mail = QuarantinedMail.quarantine(meta(), AT, RAW, "no sender", "From", AT)
    ids = {"customer_id": uuid4(), "conversation_id": uuid4(), "ticket_id": uuid4(), "message_id": uuid4()}

    mail.release(meta(), AT, **ids)

    assert mail.status is QuarantineStatus.RELEASED and mail.released_as == ids and mail.released_at == AT
    with pytest.raises(IllegalTransition) as refused:
        mail.release(meta(), AT, **ids)
    assert refused.value.field == "quarantine_id" and str(ids["message_id"]) in refused.value.message
