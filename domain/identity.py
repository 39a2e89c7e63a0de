"""Customer identities: how one person is recognised across channels.

An identity is normalised before it is compared: emails are lower-cased and checked,
phones become E.164. `IdentityClaim` makes "one identity, one customer per tenant" a
uniqueness rule the event store itself enforces: its id is derived from the identity,
so two customers claiming the same identity conflict on save.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

import email_validator
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from eventsourcing.domain import Aggregate

from .audit import AuditMeta
from .channel import Channel
from .errors import InvalidValue
from .natural_keys import natural_id

CLAIM_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.invalid/identity-claims")

# An email identity recognises a person; nothing here sends them mail. So only the syntax is checked:
# no DNS, and no refusal of dotless (intranet) domains or of special-use ones (`.local`, `.internal`,
# `localhost`, …), which real senders have. email_validator refuses special-use domains whatever its
# options say (globally_deliverable and test_environment relax only dotless names and `.test`); its
# documented switch is its own list, read at every call (python-email-validator#122), emptied here
# for the whole process.
email_validator.SPECIAL_USE_DOMAIN_NAMES.clear()


class IdentityKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    CHANNEL_USER = "channel_user"


@dataclass(frozen=True)
class Identity:
    kind: IdentityKind
    value: str
    channel: Channel | None = None

    @classmethod
    def email(cls, raw: str, *, field: str = "email") -> Identity:
        try:
            checked = validate_email(raw.strip(), check_deliverability=False, globally_deliverable=False)
        except EmailNotValidError as e:
            raise InvalidValue(f"not a valid email address: {e}", field=field) from None
        return cls(IdentityKind.EMAIL, checked.normalized.lower())

    @classmethod
    def phone(cls, raw: str, *, default_region: str | None = None, field: str = "phone") -> Identity:
        try:
            number = phonenumbers.parse(raw, default_region)
        except phonenumbers.NumberParseException as e:
            raise InvalidValue(f"not a phone number: {e}", field=field) from None
        if not phonenumbers.is_valid_number(number):
            raise InvalidValue(f"not a valid phone number: {raw!r}", field=field)
        return cls(IdentityKind.PHONE, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))

    @classmethod
    def channel_user(cls, channel: Channel, external_user_id: str, *, field: str = "external_user_id") -> Identity:
        value = external_user_id.strip()
        if not value or len(value) > 256:
            raise InvalidValue("a channel user id has 1 to 256 characters", field=field)
        return cls(IdentityKind.CHANNEL_USER, value, Channel(channel))

    @property
    def key(self) -> str:
        if self.kind is IdentityKind.CHANNEL_USER:
            return f"{self.kind}:{self.channel}:{self.value}"
        return f"{self.kind}:{self.value}"

    def as_dict(self) -> dict[str, str | None]:
        return {"kind": str(self.kind), "value": self.value, "channel": str(self.channel) if self.channel else None}

    @classmethod
    def from_dict(cls, d: dict[str, str | None]) -> Identity:
        channel = d.get("channel")
        return cls(IdentityKind(d["kind"]), str(d["value"]), Channel(channel) if channel else None)


class IdentityClaim(Aggregate):
    """Records which customer an identity belongs to within one tenant."""

    class Event(Aggregate.Event):
        meta: AuditMeta

    class Claimed(Event, Aggregate.Created):
        identity: Identity
        customer_id: UUID

    def __init__(self, meta: AuditMeta, identity: Identity, customer_id: UUID) -> None:
        self.tenant = meta.tenant
        self.identity = identity
        self.customer_id = customer_id

    @staticmethod
    def id_for(tenant: str, identity: Identity) -> UUID:
        channel = str(identity.channel) if identity.channel is not None else None
        return natural_id(CLAIM_NAMESPACE, tenant, str(identity.kind), channel, identity.value)

    @classmethod
    def claim(cls, meta: AuditMeta, at: datetime, identity: Identity, customer_id: UUID) -> IdentityClaim:
        return cls._create(
            cls.Claimed,
            id=cls.id_for(meta.tenant, identity),
            timestamp=at,
            meta=meta,
            identity=identity,
            customer_id=customer_id,
        )
