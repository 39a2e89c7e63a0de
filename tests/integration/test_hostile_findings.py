"""Findings of the [hardening] hostile run against the write side, each reproduced here first."""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from uuid import uuid4

import pytest

from ledgerdesk.application import commands as c
from ledgerdesk.application.ledger import Repeat
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.channel import Channel
from tests.conftest import random_ref

pytestmark = pytest.mark.integration


def context(tenant: str, key: str | None = None) -> c.CommandContext:
    command_id = key or str(uuid4())
    return c.CommandContext(tenant, Actor(ActorKind.INTEGRATOR, "shop"), command_id, command_id, idempotent=key is not None)


def message(tenant: str, user: str, email: str, key: str | None = None) -> c.ReceiveInboundMessage:
    return c.ReceiveInboundMessage(
        context(tenant, key), channel=Channel.TAOBAO, external_thread_id=random_ref("t-"), external_user_id=user,
        external_message_id=random_ref("m-"), text="where is my parcel?", sent_at=datetime(2026, 11, 11, tzinfo=timezone.utc),
        customer=c.CustomerHints(email=email),
    )


def test_a_customer_at_the_end_of_a_long_chain_of_merges_still_writes(ledger) -> None:
    """Trial: after a chain of more than 50 merges the deepest customer's messages were a 409
    ("the customer was merged into ..."): the write side stopped following merges at 50."""
    tenant, depth = random_ref("tenant-"), 60
    customers = [ledger.execute(message(tenant, f"u{n}", f"c{n}@example.com")).result["customer_id"] for n in range(depth + 1)]
    for n in range(depth, 0, -1):  # c{n} joins the older c{n-1}, which later joins c{n-2}, ...
        ledger.execute(message(tenant, f"u{n}", f"c{n - 1}@example.com"))
    answer = ledger.execute(message(tenant, f"u{depth}", f"c{depth}@example.com")).result
    assert answer["customer_id"] == customers[0]


@pytest.mark.parametrize("round_", range(8))
def test_concurrent_requests_with_one_idempotency_key_are_one_command_and_its_replays(ledger, round_) -> None:
    """Trial: of 16 identical intakes sent at once with one Idempotency-Key, one sometimes came back as a
    redelivery (200, duplicate, no position, no Idempotent-Replayed) instead of the first answer's replay."""
    tenant, key = random_ref("tenant-"), random_ref("key-")
    command = message(tenant, "buyer", "buyer@example.com", key)
    outcomes, start = [], threading.Barrier(16)

    def send() -> None:
        start.wait()
        outcomes.append(ledger.execute(command))

    threads = [threading.Thread(target=send) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first = [o for o in outcomes if o.repeat is None]
    assert len(first) == 1
    assert all(o.repeat is Repeat.IDEMPOTENCY_KEY and o.result == first[0].result and o.position == first[0].position
               for o in outcomes if o is not first[0])
