"""The eventsourcing library is configured by our Settings alone: the process environment changes nothing.

Trial (issue 8): with AGGREGATE_CACHE_FASTFORWARD=n in the server's environment, the second command
on any ticket failed after 9.9 s with a concurrency conflict. The library merged os.environ into
its settings, and `Ledger._append` skipped the cache update that `Application.save` makes when the
cache does not fast-forward.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from uuid import UUID, uuid4

import pytest

from ledgerdesk.application import commands as c
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.channel import Channel
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.domain.ticket_values import Priority
from ledgerdesk.interfaces.bootstrap import build_ledger
from tests.conftest import random_ref
from tests.e2e.api import command, inbound

pytestmark = pytest.mark.integration

# Every library variable we know of, set to something that would break or change the Ledger if
# read, plain and with the application's name as prefix (which the library prefers).
UNHELPFUL = {
    "PERSISTENCE_MODULE": "eventsourcing.popo",
    "AGGREGATE_CACHE_FASTFORWARD": "n",
    "AGGREGATE_CACHE_FASTFORWARD_SKIPPING": "y",
    "AGGREGATE_CACHE_MAXSIZE": "1",
    "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
    "IS_SNAPSHOTTING_ENABLED": "y",
    "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
    "CIPHER_TOPIC": "eventsourcing.cipher:AESCipher",
    "CIPHER_KEY": "not-a-key",
    "TRANSCODER_TOPIC": "nowhere:Transcoder",
    "MAPPER_TOPIC": "nowhere:Mapper",
    "APPLICATION_RECORDER_TOPIC": "eventsourcing.popo:POPOApplicationRecorder",
    "ORIGINATOR_ID_TYPE": "text",
    "CREATE_TABLE": "n",
    "SQLITE_DBNAME": "/nonexistent/x",
    "SQLITE_LOCK_TIMEOUT": "soon",
    "POSTGRES_DBNAME": "nope",
    "POSTGRES_HOST": "nowhere.invalid",
    "POSTGRES_USER": "nobody",
    "POSTGRES_PASSWORD": "wrong",
    "POSTGRES_SCHEMA": "nope",
    "POSTGRES_LOCK_TIMEOUT": "soon",
    "POSTGRES_POOL_SIZE": "0",
}


@pytest.fixture
def unhelpful_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in UNHELPFUL.items():
        monkeypatch.setenv(name, value)
        monkeypatch.setenv(f"LEDGER_{name}", value)


@pytest.fixture
def ledger(unhelpful_environment, settings, clock) -> Iterator[Ledger]:
    """The Ledger as `serve` builds it, in that environment (the `client` fixture serves this one)."""
    app = build_ledger(settings, clock)
    yield app
    app.close()


def context(tenant: str) -> c.CommandContext:
    command_id = str(uuid4())
    return c.CommandContext(tenant, Actor(ActorKind.AGENT, "ada"), command_id, command_id)


def test_the_ledger_is_configured_from_settings_only(ledger: Ledger, settings):
    expected = settings.eventsourcing_env()
    recorder_topic = expected["APPLICATION_RECORDER_TOPIC"]  # ours on PostgreSQL: the library's, subclassed
    assert type(ledger.recorder).__module__ == (recorder_topic.partition(":")[0] or expected["PERSISTENCE_MODULE"])
    assert ledger.repository.fastforward and not ledger.repository.fastforward_skipping
    assert ledger.repository.deepcopy_from_cache
    assert ledger.repository.cache is not None and ledger.repository.cache.maxsize == settings.aggregate_cache_size
    assert ledger.snapshots is None and ledger.mapper.compressor is None and ledger.mapper.cipher is None
    # (bootstrap creates PostgreSQL's tables itself, under a lock: CREATE_TABLE may differ)
    assert {k: v for k, v in ledger.env.items() if k != "CREATE_TABLE"} == {k: v for k, v in expected.items() if k != "CREATE_TABLE"}


def test_several_commands_on_one_ticket_succeed_over_http_and_land_in_the_configured_database(client, settings):
    ticket_id = inbound(client)["ticket_id"]
    versions = []
    for verb, body in [("replies", {"text": "on its way"}), ("notes", {"text": "courier called"}),
                       ("priority", {"priority": "high"}), ("replies", {"text": "handed over"})]:
        response = command(client, ticket_id, verb, body)
        assert response.status_code == 200, response.text
        versions.append(response.json()["version"])

    assert versions == sorted(versions) and len(set(versions)) == 4
    another_process = build_ledger(settings)
    try:
        assert another_process.repository.get(UUID(ticket_id)).version == versions[-1]
    finally:
        another_process.close()


def test_without_fast_forward_the_cache_still_learns_each_commands_changes(settings, clock):
    """`_append` does what `Application._record` does, whatever the settings say (here given, not from the environment)."""
    ledger = Ledger(env={**settings.eventsourcing_env(), "AGGREGATE_CACHE_FASTFORWARD": "n"}, clock=clock)
    try:
        tenant = random_ref("tenant-")
        opened = ledger.execute(c.ReceiveInboundMessage(
            context(tenant), channel=Channel.TAOBAO, external_thread_id=random_ref("th-"), external_user_id=random_ref("u-"),
            external_message_id=random_ref("m-"), text="还没发货", sent_at=datetime(2026, 11, 11, tzinfo=timezone.utc)))
        ticket_id = UUID(opened.result["ticket_id"])

        ledger.execute(c.ReplyToTicket(context(tenant), ticket_id, text="已发货"))
        ledger.execute(c.ChangeTicketPriority(context(tenant), ticket_id, priority=Priority.HIGH))
        last = ledger.execute(c.AddInternalNote(context(tenant), ticket_id, text="courier called"))

        assert ledger.aggregate(tenant, Ticket, ticket_id).version == last.result["version"]
    finally:
        ledger.close()
