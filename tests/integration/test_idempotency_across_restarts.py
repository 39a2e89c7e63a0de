"""A retried command is recognised by a freshly started process: receipts live in the event store."""
import uuid

import pytest

from ledgerdesk.application import commands as c
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.interfaces.bootstrap import build_ledger
from tests.conftest import random_ref

pytestmark = pytest.mark.integration


def context(tenant, command_id):
    return c.CommandContext(tenant, Actor(ActorKind.INTEGRATOR, "shop"), command_id, command_id, idempotent=True)


def test_a_command_retried_after_a_restart_returns_the_first_answer(settings, clock):
    tenant, key = random_ref("t-"), random_ref("key-")
    first_process = build_ledger(settings, clock)
    opened = first_process.execute(c.ReceiveInboundMessage(
        context(tenant, str(uuid.uuid4())), channel="jd", external_thread_id="th", external_user_id="u",
        external_message_id=random_ref("m-"), text="还没发货", sent_at=clock()))
    ticket_id = uuid.UUID(opened.result["ticket_id"])
    reply = c.ReplyToTicket(context(tenant, key), ticket_id, text="已发货")
    answered = first_process.execute(reply)
    first_process.close()

    second_process = build_ledger(settings, clock)
    retried = second_process.execute(reply)

    assert retried.replayed and retried.result == answered.result
    assert second_process.repository.get(ticket_id).reply_count == 1
    second_process.close()
