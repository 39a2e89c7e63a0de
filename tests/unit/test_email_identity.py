"""Email identities: the syntax is checked, deliverability and special-use domains are not.

The trial behind it: CPython's msg_26 (a sender at `xcar.wooster.local`) was answered 422,
"special-use or reserved name", and the customer's mail was lost.
"""
from datetime import UTC, datetime

import pytest

from ledgerdesk.application.commands import CommandContext
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.domain.identity import Identity, IdentityKind
from ledgerdesk.interfaces.email_message import parse_email
from ledgerdesk.interfaces.mail_intake import message_command

pytestmark = pytest.mark.unit

CONTEXT = CommandContext("t", Actor(ActorKind.INTEGRATOR, "gateway"), "c-1", "c-1")


@pytest.mark.parametrize(
    "address",
    [
        "father.time@xcar.wooster.local",
        "root@localhost",
        "ops@build.internal",
        "noreply@shop.invalid",
        "qa@staging.test",
        "x@hidden.onion",
        "buyer@intranet",  # dotless: an intranet domain
    ],
)
def test_an_address_at_a_reserved_or_local_domain_is_an_email_identity(address):
    identity = Identity.email(address)

    assert identity.kind is IdentityKind.EMAIL and identity.value == address


def test_an_email_identity_is_still_normalised():
    assert Identity.email("  Li.Lei@Example.COM ").value == "li.lei@example.com"


@pytest.mark.parametrize("raw", ["foo", "buyer@", "@example.com", "a b@example.com", "a@@example.com", "a@exa mple.com"])
def test_what_is_not_an_address_is_still_refused_naming_the_field(raw):
    with pytest.raises(InvalidValue) as refused:
        Identity.email(raw, field="customer.email")

    assert refused.value.field == "customer.email"


def _command(sender: str):
    raw = f"From: {sender}\r\nMessage-ID: <m@example.com>\r\n\r\nHello\r\n".encode()
    return message_command(CONTEXT, parse_email(raw, received_at=datetime(2026, 11, 11, tzinfo=UTC)))


def test_a_sender_with_no_domain_is_a_channel_user_and_no_email_hint():
    command = _command("foo")

    assert command.external_user_id == "foo" and command.customer.email is None


def test_a_sender_at_a_local_domain_is_both_the_channel_user_and_the_email_hint():
    command = _command("Father Time <Father.Time@xcar.wooster.local>")

    assert command.external_user_id == command.customer.email == "father.time@xcar.wooster.local"
    assert command.customer.name == "Father Time"
