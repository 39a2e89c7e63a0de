"""Events stored in an older shape (README, "Changing an event") are read by as-of reads and replays.

The fixture is version 1 of SlaPolicy.Defined as it was written then: no `escalation`, no
`class_version`. A ticket measured under such a policy gets the same SLA from the read model,
from an as-of read, and from a replay into another database.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import orjson
import pytest
from eventsourcing.persistence import StoredEvent

from ledgerdesk.application import commands as c
from ledgerdesk.domain.sla_policy import DEFAULT_ESCALATION
from ledgerdesk.interfaces.bootstrap import build_ledger, build_projector, build_read_store
from ledgerdesk.interfaces.cli import main
from ledgerdesk.interfaces.settings import Settings
from ledgerdesk.projections.sla import queries as sla_queries
from ledgerdesk.projections.sla.as_of import ticket_sla_as_of
from ledgerdesk.projections.store import ReadStore
from tests.conftest import SteppingClock, fresh_postgres_database, random_ref
from tests.integration.test_concurrency import context

pytestmark = pytest.mark.integration


@contextmanager
def fresh_target(source_url: str, tmp_path: Path) -> Iterator[str]:
    if source_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/replayed.db"
        return
    with fresh_postgres_database("ledgerdesk_replay_") as url:
        yield url


def test_a_policy_in_its_version_1_shape_is_measured_the_same_live_as_of_and_replayed(own_database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=own_database_url, api_keys={})
    clock = SteppingClock()
    ledger = build_ledger(settings, clock)
    tenant = random_ref("t-")
    current_id = ledger.execute(c.DefineSlaPolicy(context(tenant), name="fast", rank=1, match={},
                                                  targets={"first_reply": 3600}, warning_percent=50)).result["sla_policy_id"]
    current = ledger.recorder.select_events(UUID(current_id))[0]
    state = orjson.loads(current.state)
    del state["escalation"], state["class_version"]  # as version 1 wrote it
    old_id = uuid4()
    ledger.recorder.insert_events([StoredEvent(old_id, 1, current.topic, orjson.dumps(state))])
    ledger.execute(c.RetireSlaPolicy(context(tenant), policy_id=UUID(current_id)))
    hints = c.CustomerHints(email=f"{random_ref()}@example.com")
    ticket_id = UUID(ledger.execute(c.OpenTicket(context(tenant), "Where is my parcel?", customer=hints)).result["ticket_id"])
    store = build_read_store(settings)
    build_projector(ledger, store).catch_up()

    now = clock.now + timedelta(minutes=40)
    live = sla_queries.ticket_sla(store, tenant, str(ticket_id), now)
    assert live is not None and live["policy"]["id"] == str(old_id)
    assert ticket_sla_as_of(ledger, sla_queries.policy_ids(store, tenant), tenant, ticket_id, now) == {**live, "as_of": now.isoformat()}

    with fresh_target(own_database_url, tmp_path) as target:
        head = str(ledger.recorder.max_notification_id())
        assert main(["replay", "--until", head, "--to", target, "--quiet", "--database", own_database_url]) == 0
        replayed = ReadStore(Settings(database_url=own_database_url, read_models_at=target).read_model_url())
        try:
            assert sla_queries.ticket_sla(replayed, tenant, str(ticket_id), now) == live
            [policy] = sla_queries.sla_policies(replayed, tenant)
            assert policy["id"] == str(old_id) and policy["escalation"] == DEFAULT_ESCALATION
        finally:
            replayed.close()
    store.close()
    ledger.close()
