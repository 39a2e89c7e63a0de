"""Identity resolution across channels finds one customer per person, however identities arrive.

Each step presents one to three identities (emails in any case and padding, Chinese mobiles in
E.164 or national form, channel user ids) to `resolve_customer`, as one inbound message would,
and saves the unit of work. The model is a union-find over identities: whatever was presented
together is one person. After every step the stored customers must agree with it, and every
stored aggregate must equal a replay of its stored events.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ledgerdesk.application.commands import CustomerHints
from ledgerdesk.application.customer_resolution import resolve_customer
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.application.unit_of_work import UnitOfWork
from ledgerdesk.domain.audit import Actor, ActorKind, AuditMeta
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.customer import Customer
from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.domain.identity import Identity, IdentityClaim, IdentityKind

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 11, tzinfo=timezone.utc)
META = AuditMeta(
    tenant="shop-1",
    actor=Actor(ActorKind.INTEGRATOR, "omni-gateway"),
    command_id="cmd-resolve",
    correlation_id="corr-resolve",
)


@dataclass(frozen=True)
class Slot:
    """One identity of the pool, with the normal form every raw spelling of it must reach."""

    kind: IdentityKind
    normal: str
    channel: Channel | None = None

    @property
    def identity(self) -> Identity:
        return Identity(self.kind, self.normal, self.channel)


POOL = [
    Slot(IdentityKind.EMAIL, "li.wei@example.com"),
    Slot(IdentityKind.EMAIL, "zhang.san@shop.example"),
    Slot(IdentityKind.EMAIL, "wang_fang@mail.example.cn"),
    Slot(IdentityKind.EMAIL, "chen99@example.org"),
    Slot(IdentityKind.PHONE, "+8613800138000"),
    Slot(IdentityKind.PHONE, "+8613912345678"),
    Slot(IdentityKind.PHONE, "+8615012345678"),
    Slot(IdentityKind.PHONE, "+8618612345678"),
    Slot(IdentityKind.CHANNEL_USER, "tb_buyer_01", Channel.TAOBAO),
    Slot(IdentityKind.CHANNEL_USER, "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", Channel.WECHAT),
    # The same external id on two channels is two different people's handles.
    Slot(IdentityKind.CHANNEL_USER, "u-42", Channel.EMAIL),
    Slot(IdentityKind.CHANNEL_USER, "u-42", Channel.WECHAT),
]

padding = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def presented(draw: Any) -> tuple[int, Identity]:
    """A pool slot, spelt the way some channel might send it, parsed as the intake would."""
    index = draw(st.integers(0, len(POOL) - 1))
    slot = POOL[index]
    if slot.kind is IdentityKind.EMAIL:
        upper = draw(st.lists(st.booleans(), min_size=len(slot.normal), max_size=len(slot.normal)))
        cased = "".join(ch.upper() if up else ch for ch, up in zip(slot.normal, upper))
        return index, Identity.email(draw(padding) + cased + draw(padding))
    if slot.kind is IdentityKind.PHONE:
        national = slot.normal.removeprefix("+86")
        spaced = f"{national[:3]} {national[3:7]} {national[7:]}"
        raw = draw(st.sampled_from([slot.normal, national, spaced, f"+86 {spaced}", f"0086{national}", f"+86-{national}"]))
        return index, Identity.phone(raw, default_region="CN")
    assert slot.channel is not None
    return index, Identity.channel_user(slot.channel, draw(padding) + slot.normal + draw(padding))


names = st.sampled_from([None, None, "  Li Wei ", "王芳", "", "   "])
tiers = st.sampled_from([None, None, "VIP", " gold ", "   "])


def checked_name(name: str | None) -> str | None:
    return (name.strip() or None) if name is not None else None


def state_of(aggregate: Any) -> dict[str, tuple[type, Any]]:
    """An aggregate's attributes with their exact types (a StrEnum equals its plain string)."""
    return {k: (type(v), v) for k, v in aggregate.__dict__.items() if k != "_pending_events"}


def replayed(events: list[Any]) -> Any:
    aggregate = events[0].mutate(None)
    for event in events[1:]:
        aggregate = event.mutate(aggregate)
    return aggregate


class CustomerIdentityResolution(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.app = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.step = 0
        self.parent = list(range(len(POOL)))  # union-find over pool slots
        self.seen: set[int] = set()
        self.customers: dict[UUID, int] = {}  # id -> step it was registered in
        self.founding_slots: dict[UUID, set[int]] = {}
        self.profile: dict[UUID, tuple[str | None, str | None]] = {}  # expected (display_name, tier)
        self.first_owner: dict[int, UUID] = {}  # slot -> the customer it was claimed for
        self._loaded: dict[UUID, Any] = {}
        self._loaded_at = -1

    # -- model -------------------------------------------------------------------------

    def _root(self, slot: int) -> int:
        while self.parent[slot] != slot:
            self.parent[slot] = self.parent[self.parent[slot]]
            slot = self.parent[slot]
        return slot

    def _union(self, a: int, b: int) -> None:
        self.parent[self._root(a)] = self._root(b)

    def _classes(self) -> dict[int, set[int]]:
        classes: dict[int, set[int]] = {}
        for slot in self.seen:
            classes.setdefault(self._root(slot), set()).add(slot)
        return classes

    def _expected_survivor(self, members: set[int]) -> UUID:
        """The longest-known customer among those registered for this person."""
        ids = [cid for cid, slots in self.founding_slots.items() if slots <= members]
        return min(ids, key=lambda cid: (self.customers[cid], str(cid)))

    # -- reading the store -------------------------------------------------------------

    def _stored(self, aggregate_id: UUID) -> Any:
        """The aggregate as stored now; loaded once per step, since the invariants only read."""
        if self._loaded_at != self.step:
            self._loaded, self._loaded_at = {}, self.step
        if aggregate_id not in self._loaded:
            self._loaded[aggregate_id] = self.app.repository.get(aggregate_id)
        return self._loaded[aggregate_id]

    def _owner_of(self, slot: int) -> Customer:
        """The surviving customer an identity leads to: its claim, then merges, as far as they go."""
        claim = self._stored(IdentityClaim.id_for(META.tenant, POOL[slot].identity))
        assert isinstance(claim, IdentityClaim)
        customer = self._stored(claim.customer_id)
        for _ in range(len(POOL) + 1):
            if customer.merged_into is None:
                return customer
            customer = self._stored(customer.merged_into)
        raise AssertionError("a merge chain loops or is longer than there are customers")

    # -- rules -------------------------------------------------------------------------

    @rule(identities=st.lists(presented(), min_size=1, max_size=3), name=names, tier=tiers)
    def customer_writes_in_with_some_identities(
        self, identities: list[tuple[int, Identity]], name: str | None, tier: str | None
    ) -> None:
        self.step += 1
        at = T0 + timedelta(minutes=self.step)
        for slot, identity in identities:
            assert identity == POOL[slot].identity, "an identity did not normalise to its canonical form"
        uow = UnitOfWork(self.app.repository, META, at)
        hints = CustomerHints(name=name, tier=tier)
        if tier is not None and not tier.strip():
            head = self.app.recorder.max_notification_id()
            with pytest.raises(InvalidValue):
                resolve_customer(uow, [i for _, i in identities], hints)
            assert self.app.recorder.max_notification_id() == head
            return  # the command fails whole: nothing is saved, the model does not move

        slots = [s for s, _ in identities]
        customer = resolve_customer(uow, [i for _, i in identities], hints)
        changed = uow.changed()
        self.app.save(*changed)

        new = [a for a in changed if isinstance(a, Customer) and a.version == 1]
        assert len(new) <= 1, "one message registered more than one customer"
        known_before = {s for s in slots if s in self.seen}
        if new:
            assert not known_before, "a known identity's message registered a new customer"
            self.customers[new[0].id] = self.step
            self.founding_slots[new[0].id] = set(slots)
        self.seen.update(slots)
        for s in slots[1:]:
            self._union(slots[0], s)

        assert customer.merged_into is None
        for s in slots:
            self.first_owner.setdefault(s, customer.id)
        expected = self._expected_survivor(self._classes()[self._root(slots[0])])
        assert customer.id == expected, "the longest-known customer should survive"
        if new:
            self.profile[customer.id] = (checked_name(name), tier.strip().lower() if tier else None)
        else:
            old_name, old_tier = self.profile[customer.id]
            self.profile[customer.id] = (checked_name(name) or old_name, tier.strip().lower() if tier else old_tier)

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def identities_presented_together_lead_to_one_customer(self) -> None:
        survivors: dict[int, UUID] = {}
        for root, members in self._classes().items():
            owners = {self._owner_of(s).id for s in members}
            assert len(owners) == 1, f"one person's identities lead to {len(owners)} customers"
            survivors[root] = owners.pop()
        assert len(set(survivors.values())) == len(survivors), "two separate people share a customer"

    @invariant()
    def the_survivor_knows_exactly_its_persons_identities(self) -> None:
        for members in self._classes().values():
            survivor = self._owner_of(next(iter(members)))
            assert survivor.id == self._expected_survivor(members)
            assert len(set(survivor.identities)) == len(survivor.identities)
            assert set(survivor.identities) == {POOL[s].identity for s in members}
            for identity in survivor.identities:
                assert isinstance(identity, Identity) and isinstance(identity.kind, IdentityKind)

    @invariant()
    def merged_customers_point_at_a_survivor_that_lists_them(self) -> None:
        live = 0
        for cid in self.customers:
            customer = self._stored(cid)
            assert customer.tenant == META.tenant
            if customer.merged_into is None:
                live += 1
                assert (customer.display_name, customer.tier) == self.profile[cid]
                continue
            absorber = self._stored(customer.merged_into)
            assert absorber.merged_customer_ids.count(cid) == 1
            assert self.customers[absorber.id] < self.customers[cid], "a newer customer absorbed an older one"
        assert live == len(self._classes())

    @invariant()
    def claims_never_move(self) -> None:
        for slot in self.seen:
            claim = self._stored(IdentityClaim.id_for(META.tenant, POOL[slot].identity))
            assert claim.version == 1
            assert claim.identity == POOL[slot].identity
            assert claim.customer_id == self.first_owner[slot]

    @invariant()
    def stored_aggregates_equal_a_replay_of_their_events(self) -> None:
        claim_ids = [IdentityClaim.id_for(META.tenant, POOL[s].identity) for s in self.seen]
        for aggregate_id in [*self.customers, *claim_ids]:
            events = list(self.app.events.get(aggregate_id))
            stored = self._stored(aggregate_id)
            assert stored.version == len(events)
            assert state_of(stored) == state_of(replayed(events))


CustomerIdentityResolution.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestCustomerIdentityResolution = CustomerIdentityResolution.TestCase
