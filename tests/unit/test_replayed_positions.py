"""A replayed command answers the log position of its first append, on the in-memory store too.

Trial (issue 8): a retried Idempotency-Key answered `position: null` instead of the first answer's.
(The SQLite and PostgreSQL stores: tests/e2e/test_idempotent_replay_api.py.)
"""
import pytest

from ledgerdesk.application import commands as c
from ledgerdesk.application.ledger import Ledger, Repeat
from ledgerdesk.domain.audit import Actor, ActorKind

pytestmark = pytest.mark.unit


def test_a_replay_answers_the_first_position_on_the_in_memory_store():
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    context = c.CommandContext("shop", Actor(ActorKind.AGENT, "ada"), "key-1", "key-1", idempotent=True)
    command = c.OpenTicket(context, subject="Refund", customer=c.CustomerHints(email="li@example.com"))
    first = ledger.execute(command)
    ledger.execute(c.OpenTicket(c.CommandContext("shop", Actor(ActorKind.AGENT, "ada"), "key-2", "key-2", idempotent=True),
                                subject="Another", customer=c.CustomerHints(email="li@example.com")))

    again = ledger.execute(command)

    assert first.position is not None and again.position == first.position
    assert again.repeat is Repeat.IDEMPOTENCY_KEY and again.result == first.result
