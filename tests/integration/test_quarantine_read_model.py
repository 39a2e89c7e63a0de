"""Quarantined mail on real SQLite and PostgreSQL: content-keyed, released atomically, listed by a read model.

The read model is built from the events alone, so following the log and a rebuild give equal rows.
"""
from __future__ import annotations

import threading
from datetime import UTC, datetime
from uuid import UUID

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ledgerdesk.application import commands as c
from ledgerdesk.application.ledger import Ledger
from ledgerdesk.domain.audit import Actor, ActorKind
from ledgerdesk.domain.errors import InvalidValue
from ledgerdesk.domain.quarantined_mail import QuarantinedMail
from ledgerdesk.projections.projector import Projector
from ledgerdesk.projections.quarantine import queries as q
from ledgerdesk.projections.quarantine.projection import MailQuarantine
from ledgerdesk.projections.schema import metadata
from ledgerdesk.projections.store import ReadStore
from ledgerdesk.projections.verify import verify
from tests.conftest import random_ref

pytestmark = pytest.mark.integration

RECEIVED = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)


def context(tenant: str) -> c.CommandContext:
    command_id = random_ref("cmd-")
    return c.CommandContext(tenant, Actor(ActorKind.INTEGRATOR, "mail-gateway"), command_id, command_id)


def quarantine(ledger: Ledger, tenant: str, raw: bytes | None = None) -> dict:
    raw = raw if raw is not None else b"From: MAILER DAEMON <>\r\n\r\n" + random_ref().encode()
    return ledger.execute(c.QuarantineMail(context(tenant), raw, "no sender address", "From", RECEIVED)).result


def message(tenant: str, text: str = "the bounce, read at last") -> c.ReceiveInboundMessage:
    mail_id = random_ref("m-")
    return c.ReceiveInboundMessage(
        context(tenant), channel="email", external_thread_id=mail_id, external_user_id="mailer-daemon@python.org",
        external_message_id=mail_id, text=text, sent_at=RECEIVED,
    )


def release(ledger: Ledger, tenant: str, quarantine_id: str, text: str = "the bounce, read at last") -> dict:
    command = c.ReleaseQuarantinedMail(context(tenant), UUID(quarantine_id), message(tenant, text))
    return ledger.execute(command).result


def test_a_tenants_quarantined_mail_is_listed_newest_first_with_its_release(ledger, read_store, projector):
    tenant, other = random_ref("shop-"), random_ref("shop-")
    first, second, elsewhere = quarantine(ledger, tenant), quarantine(ledger, tenant), quarantine(ledger, other)
    released = release(ledger, tenant, first["quarantine_id"])

    projector.catch_up()

    listed = q.quarantined_mail_list(read_store, tenant)
    assert [i["quarantine_id"] for i in listed["items"]] == [second["quarantine_id"], first["quarantine_id"]]
    held, gone = listed["items"]
    assert held["status"] == "held" and held["released"] is None and held["field"] == "From" and held["tenant"] == tenant
    assert held["received_at"] == RECEIVED.isoformat() and held["sha256"] == second["sha256"] and held["size"] == second["size"]
    assert gone["status"] == "released" and gone["released"]["message_id"] == released["message_id"]
    assert gone["released"]["ticket_id"] == released["ticket_id"]
    assert [i["quarantine_id"] for i in q.quarantined_mail_list(read_store, tenant, status="held")["items"]] == [second["quarantine_id"]]
    everyone = {i["quarantine_id"] for i in q.quarantined_mail_list(read_store, None, limit=q.MAX_LIMIT)["items"]}
    assert {first["quarantine_id"], second["quarantine_id"], elsewhere["quarantine_id"]} <= everyone


def test_pages_walk_the_list_once(ledger, read_store, projector):
    tenant = random_ref("shop-")
    ids = [quarantine(ledger, tenant)["quarantine_id"] for _ in range(5)]
    projector.catch_up()

    seen, before = [], None
    while True:
        page = q.quarantined_mail_list(read_store, tenant, before=before, limit=2)
        seen += [i["quarantine_id"] for i in page["items"]]
        if page["next_before"] is None:
            break
        before = page["next_before"]

    assert seen == ids[::-1]


def test_the_same_bytes_quarantined_by_racing_deliveries_are_one_mail(ledger):
    tenant, raw = random_ref("shop-"), b"From: <>\r\n\r\nthe same bounce " + random_ref().encode()
    answers: list[dict] = []
    racers = [threading.Thread(target=lambda: answers.append(quarantine(ledger, tenant, raw))) for _ in range(4)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()

    assert len({a["quarantine_id"] for a in answers}) == 1
    assert sorted(a["duplicate"] for a in answers) == [False, True, True, True]
    assert answers[0]["quarantine_id"] == str(QuarantinedMail.id_for(tenant, answers[0]["sha256"]))
    assert len(list(ledger.events.get(UUID(answers[0]["quarantine_id"])))) == 1


def test_a_release_the_domain_refuses_stores_nothing_not_even_the_release(ledger):
    tenant = random_ref("shop-")
    held = quarantine(ledger, tenant)
    head = ledger.recorder.max_notification_id()

    with pytest.raises(InvalidValue):
        release(ledger, tenant, held["quarantine_id"], text="")  # an empty text with no attachment

    assert ledger.recorder.max_notification_id() == head
    mail = ledger.aggregate(tenant, QuarantinedMail, UUID(held["quarantine_id"]))
    assert mail.status == "held"


def test_following_the_log_and_a_rebuild_give_equal_rows(ledger, read_store: ReadStore, projector: Projector):
    tenant = random_ref("shop-")
    held = [quarantine(ledger, tenant) for _ in range(3)]
    projector.catch_up()
    release(ledger, tenant, held[1]["quarantine_id"])
    projector.catch_up()

    found = verify(projector, [MailQuarantine()])

    assert [(v.name, v.equal) for v in found] == [("quarantine", True)], found


def test_the_migration_makes_the_table_the_read_model_declares(read_store):
    names = {table.name for table in MailQuarantine.tables}
    with read_store.write_engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert [d for d in differences if any(name in repr(d) for name in names)] == []
