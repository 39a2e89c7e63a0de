"""A command whose events are committed answers its success, whatever fails afterwards.

Trial (issue 8): a listener failing after the commit turned a stored command into a 500 that said
"nothing was stored", so a client retrying without an Idempotency-Key applied it twice.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from ledgerdesk.application.ledger import Ledger
from tests.e2e.api import command, history, message

pytestmark = pytest.mark.e2e


def failing_listener(position: int) -> None:
    raise RuntimeError(f"the listener broke at {position}")


@pytest.fixture
def broken_listener(ledger: Ledger) -> Iterator[None]:
    ledger.on_appended.append(failing_listener)
    yield
    ledger.on_appended.remove(failing_listener)


def test_a_listener_failing_after_the_commit_leaves_the_commands_success(client, broken_listener, caplog):
    caplog.set_level(logging.ERROR, logger="ledgerdesk.application.ledger")
    opened = client.post("/v1/inbound-messages", json=message())
    assert opened.status_code == 201, opened.text
    ticket_id = opened.json()["ticket_id"]

    reply = command(client, ticket_id, "replies", {"text": "on its way"})

    assert reply.status_code == 200, reply.text
    assert reply.json()["position"] > opened.json()["position"]
    assert [e["type"] for e in history(client, ticket_id)].count("Ticket.ReplySent") == 1
    logged = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], RuntimeError)]
    assert len(logged) == 2 and all("the command stands" in r.getMessage() for r in logged)


def test_listeners_after_a_failing_one_are_still_told(client, ledger: Ledger, broken_listener):
    told: list[int] = []
    ledger.on_appended.append(told.append)
    try:
        opened = client.post("/v1/inbound-messages", json=message())
    finally:
        ledger.on_appended.remove(told.append)

    assert opened.status_code == 201, opened.text
    assert told == [opened.json()["position"]]
