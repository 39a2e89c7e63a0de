"""Finds the one customer behind a message's identities, registering or merging as needed."""
from __future__ import annotations

from ledgerdesk.domain.customer import Customer, follow_merges
from ledgerdesk.domain.identity import Identity, IdentityClaim

from .commands import CustomerHints
from .unit_of_work import UnitOfWork


def identities_from_hints(hints: CustomerHints, default_phone_region: str | None) -> list[Identity]:
    found = []
    if hints.email:
        found.append(Identity.email(hints.email, field="customer.email"))
    if hints.phone:
        found.append(Identity.phone(hints.phone, default_region=default_phone_region, field="customer.phone"))
    return found


def _current(uow: UnitOfWork, customer: Customer) -> Customer:
    """Follows merges, however many, to the surviving customer."""
    survivor_id = follow_merges(customer.id, lambda cid: uow.get(Customer, cid, field="customer_id").merged_into)
    return uow.get(Customer, survivor_id, field="customer_id")


def resolve_customer(uow: UnitOfWork, identities: list[Identity], hints: CustomerHints) -> Customer:
    """The customer who owns any of these identities; several owners are one person, so they merge."""
    owners: dict = {}
    unclaimed: list[Identity] = []
    for identity in dict.fromkeys(identities):
        claim = uow.find(IdentityClaim, IdentityClaim.id_for(uow.tenant, identity))
        if claim is None:
            unclaimed.append(identity)
            continue
        owner = _current(uow, uow.get(Customer, claim.customer_id, field="customer_id"))
        owners.setdefault(owner.id, owner)

    if not owners:
        customer = Customer.register(uow.meta, uow.at, unclaimed, hints.name, hints.tier)
        uow.add(customer)
    else:
        # The longest-known customer survives, so existing references stay the most useful.
        survivor, *others = sorted(owners.values(), key=lambda c: (c.created_on, str(c.id)))
        for other in others:
            survivor.absorb(uow.meta, uow.at, other)
        for identity in unclaimed:
            survivor.add_identity(uow.meta, uow.at, identity)
        survivor.update_profile(uow.meta, uow.at, hints.name, hints.tier)
        customer = survivor
    for identity in unclaimed:
        uow.add(IdentityClaim.claim(uow.meta, uow.at, identity, customer.id))
    return customer
