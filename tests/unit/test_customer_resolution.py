"""Customer resolution follows merges all the way to the survivor."""
from datetime import datetime, timedelta, timezone

import pytest

from ledgerdesk.application.commands import CustomerHints
from ledgerdesk.application.customer_resolution import resolve_customer
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.application.unit_of_work import UnitOfWork
from ledgerdesk.domain.audit import Actor, ActorKind, AuditMeta
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.errors import IllegalTransition
from ledgerdesk.domain.identity import Identity

pytestmark = pytest.mark.unit
META = AuditMeta("shop", Actor(ActorKind.SYSTEM, "test"), "cmd", "cmd")


class Resolver:
    def __init__(self) -> None:
        self.app = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.minute = 0

    def present(self, *identities: Identity):
        self.minute += 1
        uow = UnitOfWork(self.app.repository, META, datetime(2026, 11, 11, tzinfo=timezone.utc) + timedelta(minutes=self.minute))
        customer = resolve_customer(uow, list(identities), CustomerHints())
        self.app.save(*uow.changed())
        return customer


def test_a_long_chain_of_merges_still_resolves_to_the_oldest_customer():
    resolver = Resolver()
    ids = [Identity.channel_user(Channel.TAOBAO, f"u{i}") for i in range(30)]
    customers = [resolver.present(i) for i in ids]
    for i in range(len(ids) - 2, -1, -1):  # each older customer absorbs the next newer one
        resolver.present(ids[i], ids[i + 1])

    late = Identity.email("late@example.com")
    resolved = resolver.present(ids[-1], late)

    assert resolved.id == customers[0].id and resolved.merged_into is None
    assert late in resolver.app.repository.get(customers[0].id).identities


def test_a_merged_customer_takes_no_new_identity():
    resolver = Resolver()
    a = resolver.present(Identity.email("a@example.com"))
    resolver.present(Identity.phone("+8613800138000"))
    resolver.present(Identity.email("a@example.com"), Identity.phone("+8613800138000"))
    survivor = resolver.app.repository.get(a.id)
    loser_id = survivor.merged_customer_ids[0]
    loser = resolver.app.repository.get(loser_id)

    with pytest.raises(IllegalTransition):
        loser.add_identity(META, datetime(2026, 11, 12, tzinfo=timezone.utc), Identity.email("b@example.com"))
