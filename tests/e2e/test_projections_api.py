"""GET /v1/projections: each read model's state, and the caller's own parked events only."""
from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from ledgerdesk.interfaces.http.app import create_app
from ledgerdesk.projections.analytics.projection import SupportAnalytics
from ledgerdesk.projections.follower import Follower
from ledgerdesk.projections.inbox.projection import TicketInbox
from ledgerdesk.projections.projector import Projector
from tests.conftest import runtime_of
from tests.e2e.api import inbound
from tests.integration.test_parked_events import Faulty

pytestmark = pytest.mark.e2e


def test_a_tenant_sees_its_parked_events_and_whether_it_is_held_but_nothing_of_other_tenants(
    settings, ledger, keys, read_store
) -> None:
    buggy = Faulty(SupportAnalytics(), lambda e: e.tenant == keys.tenant and e.type == "Ticket.Opened")
    follower = Follower(Projector(read_store, ledger.recorder, [buggy, TicketInbox()]))
    with TestClient(create_app(runtime_of(settings, ledger, keys, read_store, follower))) as client:
        client.headers["Authorization"] = f"Bearer {keys.integrator}"
        ticket = inbound(client)["ticket_id"]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            mine = {m["name"]: m for m in client.get("/v1/projections").json()["items"]}
            if mine["analytics"]["lag"] == 0 and mine["inbox"]["lag"] == 0:
                break
            time.sleep(0.02)

        assert mine["analytics"]["parked"]["events"] == 1
        assert mine["analytics"]["parked"]["held_since"] is not None
        assert [p["aggregate_id"] for p in mine["analytics"]["parked"]["yours"]] == [ticket]
        assert mine["inbox"]["parked"]["events"] == 0 and mine["inbox"]["state"] == "running"

        client.headers["Authorization"] = f"Bearer {keys.other}"
        theirs = {m["name"]: m for m in client.get("/v1/projections").json()["items"]}
        assert theirs["analytics"]["parked"]["yours"] == [] and theirs["analytics"]["parked"]["held_since"] is None
        assert keys.tenant not in str(theirs)
