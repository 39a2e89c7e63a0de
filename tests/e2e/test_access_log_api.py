"""Auditors' reads of the audit trail are recorded in the log and listed for admins."""
from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledgerdesk.application.ledger import Ledger
from tests.conftest import Keys
from tests.e2e.api import command, inbound, is_problem, ticket

pytestmark = pytest.mark.e2e


def as_(client: TestClient, key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def access_log(client: TestClient, keys: Keys, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/audit/access-log", params={"from": "2026-11-01", "to": "2026-12-31", **params},
                          headers=as_(client, keys.admin))
    assert response.status_code == 200, response.text
    return response.json()


def test_an_auditors_history_and_as_of_reads_are_recorded_and_listed_for_admins(client: TestClient, keys: Keys) -> None:
    ticket_id = inbound(client)["ticket_id"]
    customer_id = ticket(client, ticket_id)["customer_id"]
    auditor = as_(client, keys.auditor)
    assert client.get(f"/v1/tickets/{ticket_id}/history", headers=auditor).status_code == 200
    assert client.get(f"/v1/tickets/{ticket_id}", params={"version": 1}, headers=auditor).status_code == 200
    assert client.get(f"/v1/customers/{customer_id}/history", headers=auditor).status_code == 200
    assert client.get(f"/v1/tickets/{ticket_id}", headers=auditor).status_code == 200  # current state: not recorded
    assert client.get(f"/v1/tickets/{ticket_id}/history").status_code == 200  # an integrator's: not recorded
    assert command(client, ticket_id, "replies", {"text": "no"}, headers=auditor).status_code == 403  # reads only

    items = access_log(client, keys)["items"]
    assert [(i["reader"], i["role"], i["what"], i["target"]) for i in items] == [
        ("auditor-ann", "auditor", "history", f"ticket/{ticket_id}"),
        ("auditor-ann", "auditor", "as_of", f"ticket/{ticket_id}"),
        ("auditor-ann", "auditor", "history", f"customer/{customer_id}"),
    ]
    assert items[1]["detail"] == {"as_of": None, "version": 1}
    assert access_log(client, keys, actor="someone-else")["items"] == []
    # The records are events like any other: not in the tenant's public feed, in the log itself.
    assert not [e for e in client.get("/v1/events", params={"limit": 1000}).json()["items"] if e["type"].startswith("AccessLog")]


def test_the_access_log_pages_with_a_cursor_and_only_admins_read_it(client: TestClient, keys: Keys) -> None:
    ticket_id = inbound(client)["ticket_id"]
    for _ in range(5):
        assert client.get(f"/v1/tickets/{ticket_id}/history", headers=as_(client, keys.auditor)).status_code == 200
    seen, cursor = [], None
    while True:
        page = access_log(client, keys, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and len({i["id"] for i in seen}) == 5
    for key in (keys.auditor, keys.agent, keys.integrator):
        assert is_problem(client.get("/v1/audit/access-log", headers=as_(client, key)), 403)
    other = client.get("/v1/audit/access-log", headers=as_(client, keys.other))
    assert other.status_code == 403  # another tenant's integrator


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("params, field", [
    ({"cursor": "forged"}, "cursor"),
    ({"cursor": "WyIyMDI2LTExLTExIiwgLTFd"}, "cursor"),  # ["2026-11-11", -1]
    ({"cursor": "WyIxOTcwLTAxLTAxIiwgMF0"}, "cursor"),  # ["1970-01-01", 0]: outside the range asked
    ({"cursor": "\x00"}, "cursor"),
    ({"from": "0001-01-01"}, "from"),
    ({"to": "9999-12-31"}, "to"),
    ({"from": "2026-11-11\x00"}, "from"),
    ({"from": "2020-01-01", "to": "2026-01-01"}, "from"),  # more than a year
    ({"from": "2026-12-01", "to": "2026-11-01"}, "to"),
    ({"limit": str(2**64)}, "limit"),
    ({"actor": "a\x00"}, "actor"),
])
def test_hostile_access_log_parameters_are_422_naming_the_field(client: TestClient, keys: Keys, params: dict[str, str],
                                                                field: str) -> None:
    query = {"from": "2026-11-01", "to": "2026-12-31", **params}
    assert is_problem(client.get("/v1/audit/access-log", params=query, headers=as_(client, keys.admin)), 422, field)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_auditors_read_that_cannot_be_recorded_is_refused_with_503(client: TestClient, keys: Keys, ledger: Ledger,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ticket_id = inbound(client)["ticket_id"]
    real_execute = ledger.execute

    def failing(command: Any) -> Any:
        if type(command).__name__ == "RecordAccess":
            raise OSError("the disk is full")
        return real_execute(command)

    monkeypatch.setattr(ledger, "execute", failing)
    response = client.get(f"/v1/tickets/{ticket_id}/history", headers=as_(client, keys.auditor))
    assert is_problem(response, 503) and "items" not in response.json()
    assert client.get(f"/v1/tickets/{ticket_id}/history").status_code == 200  # others' reads need no record
