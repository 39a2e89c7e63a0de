"""The Customer aggregate: one person across every channel of one merchant."""
from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from typing import TypeVar
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from .audit import AuditMeta
from .errors import IllegalTransition, InvalidValue
from .identity import Identity
from .names import shows_something


K = TypeVar("K", bound=Hashable)
# A chain of merges grows one link each time an older customer absorbs a survivor: usually a
# handful, but nothing bounds it; a loop, or a chain longer than this, is corrupt data.
MAX_MERGE_HOPS = 10_000


def follow_merges(start: K, merged_into: Callable[[K], K | None], max_hops: int = MAX_MERGE_HOPS) -> K:
    """The customer at the end of `start`'s merges, as `merged_into` tells each step.

    Merges never form a loop (a merged customer takes part in no other merge), but the walk
    reads stored data: a loop or an over-long chain ends it where it closes instead of hanging.
    """
    current, seen = start, {start}
    while (following := merged_into(current)) is not None and following not in seen and len(seen) <= max_hops:
        current = following
        seen.add(current)
    return current


def _checked_name(name: str | None) -> str | None:
    if name is None:
        return None
    name = name.strip()
    if len(name) > 200:
        raise InvalidValue("a display name has at most 200 characters", field="customer.name")
    # A display name that shows nothing (names.py) is no name rather than a refusal: it comes with
    # a customer's message, from a shop or a mail's From, and the message must not be lost for it.
    return name if shows_something(name) else None


def _checked_tier(tier: str | None) -> str | None:
    if tier is None:
        return None
    tier = tier.strip().lower()
    if not tier or len(tier) > 32:
        raise InvalidValue("a tier has 1 to 32 characters, e.g. vip", field="customer.tier")
    return tier


class Customer(Aggregate):
    class Event(Aggregate.Event):
        meta: AuditMeta

    class Registered(Event, Aggregate.Created):
        identities: list[Identity]
        display_name: str | None
        tier: str | None

    class IdentityAdded(Event):
        identity: Identity

        def apply(self, customer: Customer) -> None:
            customer.identities.append(self.identity)

    class ProfileUpdated(Event):
        display_name: str | None
        tier: str | None

        def apply(self, customer: Customer) -> None:
            if self.display_name is not None:
                customer.display_name = self.display_name
            if self.tier is not None:
                customer.tier = self.tier

    class CustomersMerged(Event):
        """The survivor absorbed another customer, its identities and its history."""

        merged_customer_id: UUID
        identities: list[Identity]

        def apply(self, customer: Customer) -> None:
            customer.merged_customer_ids.append(self.merged_customer_id)
            for identity in self.identities:
                if identity not in customer.identities:
                    customer.identities.append(identity)

    class MergedInto(Event):
        """This customer is the same person as the survivor; look there from now on."""

        survivor_id: UUID

        def apply(self, customer: Customer) -> None:
            customer.merged_into = self.survivor_id

    def __init__(self, meta: AuditMeta, identities: list[Identity], display_name: str | None, tier: str | None):
        self.tenant = meta.tenant
        self.identities = list(identities)
        self.display_name = display_name
        self.tier = tier
        self.merged_into: UUID | None = None
        self.merged_customer_ids: list[UUID] = []

    @classmethod
    def register(
        cls,
        meta: AuditMeta,
        at: datetime,
        identities: list[Identity],
        display_name: str | None = None,
        tier: str | None = None,
    ) -> Customer:
        return cls._create(
            cls.Registered,
            id=uuid4(),
            timestamp=at,
            meta=meta,
            identities=list(dict.fromkeys(identities)),
            display_name=_checked_name(display_name),
            tier=_checked_tier(tier),
        )

    def _require_current(self) -> None:
        if self.merged_into is not None:
            raise IllegalTransition(f"the customer was merged into customer {self.merged_into}", field="customer_id")

    def add_identity(self, meta: AuditMeta, at: datetime, identity: Identity) -> None:
        self._require_current()
        if identity not in self.identities:
            self.trigger_event(self.IdentityAdded, timestamp=at, meta=meta, identity=identity)

    def update_profile(self, meta: AuditMeta, at: datetime, display_name: str | None, tier: str | None) -> None:
        self._require_current()
        name, tier = _checked_name(display_name), _checked_tier(tier)
        changed_name = name if name is not None and name != self.display_name else None
        changed_tier = tier if tier is not None and tier != self.tier else None
        if changed_name is not None or changed_tier is not None:
            self.trigger_event(self.ProfileUpdated, timestamp=at, meta=meta, display_name=changed_name, tier=changed_tier)

    def absorb(self, meta: AuditMeta, at: datetime, other: Customer) -> None:
        """Merge `other` into this customer: both record the fact, each from its side."""
        if other.id == self.id:
            raise IllegalTransition("a customer cannot be merged into itself", field="customer_id")
        if self.merged_into is not None or other.merged_into is not None:
            raise IllegalTransition("a merged customer cannot take part in another merge", field="customer_id")
        if other.tenant != self.tenant:
            raise IllegalTransition("customers of different tenants cannot be merged", field="customer_id")
        self.trigger_event(
            self.CustomersMerged, timestamp=at, meta=meta, merged_customer_id=other.id, identities=list(other.identities)
        )
        other.trigger_event(other.MergedInto, timestamp=at, meta=meta, survivor_id=self.id)
