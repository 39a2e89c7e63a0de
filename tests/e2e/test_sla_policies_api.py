"""SLA policies over HTTP: each change is an audited event of the tenant's own policy."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import random_ref
from tests.e2e.api import is_problem

pytestmark = pytest.mark.e2e

OFFICE_HOURS = {
    "kind": "business_hours",
    "timezone": "Asia/Shanghai",
    "weekly": {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "holiday_country": "CN",
    "holiday_subdivision": None,
    "holidays": ["2026-10-01"],
}


def policy_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "VIP urgent",
        "rank": 10,
        "match": {"priorities": ["urgent", "high"], "customer_tiers": ["vip"]},
        "targets": {"first_reply_minutes": 60, "resolution_minutes": 1440},
    }
    body.update(over)
    return body


def define(client, **over: Any) -> dict[str, Any]:
    response = client.post("/v1/sla-policies", json=policy_body(**over))
    assert response.status_code == 201, response.text
    return response.json()


def policy(client, policy_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/sla-policies/{policy_id}")
    assert response.status_code == 200, response.text
    return response.json()


def history(client, policy_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/sla-policies/{policy_id}/history", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_define_then_read_the_policy_back(client):
    answer = define(client, calendar=OFFICE_HOURS, warning_percent=80, reason="contract with VIP merchants")

    assert set(answer) == {"sla_policy_id", "version", "position"}
    assert answer["version"] == 1 and isinstance(answer["position"], int)
    got = policy(client, answer["sla_policy_id"])
    assert got["id"] == answer["sla_policy_id"] and got["version"] == 1
    assert (got["name"], got["rank"], got["warning_percent"], got["retired"]) == ("VIP urgent", 10, 80, False)
    assert got["match"] == {"priorities": ["high", "urgent"], "channels": [], "categories": [], "customer_tiers": ["vip"]}
    assert got["targets"] == {
        "first_reply_minutes": 60, "first_reply_seconds": 3600,
        "next_reply_minutes": None, "next_reply_seconds": None,
        "periodic_update_minutes": None, "periodic_update_seconds": None,
        "resolution_minutes": 1440, "resolution_seconds": 86_400,
    }
    assert got["calendar"]["timezone"] == "Asia/Shanghai" and got["calendar"]["weekly"]["sat"] == []
    assert got["defined_at"] == got["updated_at"]


def test_defaults_are_rank_100_any_ticket_75_percent_and_24x7(client):
    answer = client.post("/v1/sla-policies", json={"name": "Everyone", "targets": {"first_reply_minutes": 240}})
    assert answer.status_code == 201, answer.text
    got = policy(client, answer.json()["sla_policy_id"])
    assert (got["rank"], got["warning_percent"], got["calendar"]) == (100, 75, {"kind": "24x7"})
    assert got["match"] == {"priorities": [], "channels": [], "categories": [], "customer_tiers": []}


def test_escalation_is_part_of_the_policy_and_defaults_to_notify_then_urgent(client):
    plain = policy(client, define(client)["sla_policy_id"])
    assert plain["escalation"] == {
        "on_warning": {"raise_priority_to": None, "transfer_to_team": None, "notify": True,
                       "transfer_to_escalation_team": False},
        "on_breach": {"raise_priority_to": "urgent", "transfer_to_team": None, "notify": True,
                      "transfer_to_escalation_team": False},
    }
    chosen = {"on_breach": {"raise_priority_to": "high", "transfer_to_team": "tier-2"}}
    escalating = policy(client, define(client, escalation=chosen)["sla_policy_id"])
    assert escalating["escalation"] == {
        "on_warning": {"raise_priority_to": None, "transfer_to_team": None, "notify": False,
                       "transfer_to_escalation_team": False},
        "on_breach": {"raise_priority_to": "high", "transfer_to_team": "tier-2", "notify": False,
                      "transfer_to_escalation_team": False},
    }


def test_revise_and_the_history_shows_defined_then_revised_with_the_actor(client, keys):
    pid = define(client)["sla_policy_id"]
    admin = {"Authorization": f"Bearer {keys.admin}"}

    revised = client.put(f"/v1/sla-policies/{pid}", headers=admin, json=policy_body(
        name="VIP urgent (faster)", targets={"first_reply_minutes": 30}, calendar=OFFICE_HOURS,
        expected_version=1, reason="new contract"))

    assert revised.status_code == 200, revised.text
    assert revised.json()["version"] == 2 and revised.json()["sla_policy_id"] == pid
    got = policy(client, pid)
    assert got["name"] == "VIP urgent (faster)" and got["targets"]["first_reply_seconds"] == 1800
    assert got["targets"]["resolution_seconds"] is None  # a full replacement: left out is not measured
    events = history(client, pid)
    assert [e["type"] for e in events] == ["SlaPolicy.Defined", "SlaPolicy.Revised"]
    assert events[0]["actor"] == {"kind": "integrator", "id": "shop-connector"}
    assert events[1]["actor"] == {"kind": "agent", "id": "admin-abe"} and events[1]["reason"] == "new contract"
    assert events[1]["data"]["targets"] == {"first_reply": 1800, "next_reply": None, "periodic_update": None, "resolution": None}
    assert events[1]["data"]["calendar"]["holidays"] == ["2026-10-01"]


def test_revising_to_the_same_terms_appends_nothing(client):
    pid = define(client)["sla_policy_id"]
    same = client.put(f"/v1/sla-policies/{pid}", json=policy_body(match={"priorities": ["high", "urgent", "urgent"], "customer_tiers": ["VIP"]}))
    assert same.status_code == 200 and same.json() == {"sla_policy_id": pid, "version": 1, "position": None}
    assert len(history(client, pid)) == 1


def test_a_stale_expected_version_is_a_409(client):
    pid = define(client)["sla_policy_id"]
    client.put(f"/v1/sla-policies/{pid}", json=policy_body(rank=20))

    stale = client.put(f"/v1/sla-policies/{pid}", json=policy_body(rank=30, expected_version=1))
    assert is_problem(stale, 409, "expected_version")
    assert is_problem(client.delete(f"/v1/sla-policies/{pid}", params={"expected_version": 1}), 409, "expected_version")
    current = client.delete(f"/v1/sla-policies/{pid}", params={"expected_version": 2})
    assert current.status_code == 200 and current.json()["version"] == 3


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"calendar": {"kind": "9to5"}}, "calendar.kind"),
        ({"calendar": {**OFFICE_HOURS, "timezone": "Mars/Olympus"}}, "calendar.timezone"),
        ({"calendar": {**OFFICE_HOURS, "weekly": {"mon": [["18:00", "09:00"]]}}}, "calendar.weekly.mon"),
        ({"calendar": "24x7"}, "calendar"),
        ({"targets": {}}, "targets"),
        ({"targets": {"first_reply_minutes": None}}, "targets"),
        ({"targets": {"first_reply_minutes": 0}}, "targets.first_reply_minutes"),
        ({"targets": {"resolution_minutes": 365 * 24 * 60 + 1}}, "targets.resolution_minutes"),
        ({"targets": {"first_reply_seconds": 60}}, "targets.first_reply_seconds"),
        ({"targets": None}, "targets"),
        ({"match": {"priorities": ["sky-high"]}}, "match.priorities.0"),
        ({"match": {"brands": ["acme"]}}, "match.brands"),
        ({"name": "   "}, "name"),
        ({"rank": 10_001}, "rank"),
        ({"warning_percent": 100}, "warning_percent"),
        ({"escalation": {"on_breach": {"raise_priority_to": "sky-high"}}}, "escalation.on_breach.raise_priority_to"),
        ({"escalation": {"on_breach": {"transfer_to_team": "esc\u0000"}}}, "escalation.on_breach.transfer_to_team"),
        ({"escalation": {"on_breach": {"transfer_to_team": "x" * 129}}}, "escalation.on_breach.transfer_to_team"),
        ({"escalation": {"on_warning": {"transfer_to_team": "   "}}}, "escalation.on_warning.transfer_to_team"),
        ({"escalation": {"on_warning": {"notify": "yes"}}}, "escalation.on_warning.notify"),
        ({"escalation": {"on_timeout": {}}}, "escalation.on_timeout"),
    ],
)
def test_invalid_terms_are_a_422_naming_the_field_and_store_nothing(client, over, field):
    head = client.get("/v1/events").json()["head"]
    response = client.post("/v1/sla-policies", json=policy_body(**over))
    assert is_problem(response, 422, field), response.text
    assert client.get("/v1/events").json()["head"] == head


def test_an_invalid_revision_is_a_422_naming_the_field(client):
    pid = define(client)["sla_policy_id"]
    response = client.put(f"/v1/sla-policies/{pid}", json=policy_body(calendar={"kind": "business_hours", "timezone": "UTC"}))
    assert is_problem(response, 422, "calendar.weekly")
    assert policy(client, pid)["version"] == 1


def test_a_retired_policy_refuses_revisions_with_a_409(client):
    pid = define(client)["sla_policy_id"]

    retired = client.delete(f"/v1/sla-policies/{pid}", params={"reason": "merged into Standard"})
    assert retired.status_code == 200 and retired.json()["version"] == 2
    assert policy(client, pid)["retired"] is True

    assert is_problem(client.put(f"/v1/sla-policies/{pid}", json=policy_body(name="again")), 409, "policy_id")
    again = client.delete(f"/v1/sla-policies/{pid}")
    assert again.status_code == 200 and again.json()["version"] == 2 and again.json()["position"] is None
    events = history(client, pid)
    assert [e["type"] for e in events] == ["SlaPolicy.Defined", "SlaPolicy.Retired"]
    assert events[-1]["reason"] == "merged into Standard"


def test_another_tenants_policy_does_not_exist_for_you(client, keys):
    pid = define(client)["sla_policy_id"]
    other = {"Authorization": f"Bearer {keys.other}"}

    assert is_problem(client.get(f"/v1/sla-policies/{pid}", headers=other), 404)
    assert is_problem(client.get(f"/v1/sla-policies/{pid}/history", headers=other), 404)
    assert is_problem(client.put(f"/v1/sla-policies/{pid}", json=policy_body(), headers=other), 404, "policy_id")
    assert is_problem(client.delete(f"/v1/sla-policies/{pid}", headers=other), 404, "policy_id")
    assert policy(client, pid)["version"] == 1


def test_unknown_policies_and_other_aggregates_are_404(client):
    unknown = str(uuid.uuid4())
    assert is_problem(client.get(f"/v1/sla-policies/{unknown}"), 404)
    assert is_problem(client.get(f"/v1/sla-policies/{unknown}/history"), 404)
    assert is_problem(client.put(f"/v1/sla-policies/{unknown}", json=policy_body()), 404, "policy_id")
    assert is_problem(client.get("/v1/sla-policies/not-a-uuid"), 422, "policy_id")
    ticket_id = client.post("/v1/tickets", json={"subject": "x", "customer": {"email": "a@example.com"}}).json()["ticket_id"]
    assert is_problem(client.get(f"/v1/sla-policies/{ticket_id}"), 404)
    assert is_problem(client.get(f"/v1/sla-policies/{ticket_id}/history"), 404)
    assert is_problem(client.put(f"/v1/sla-policies/{ticket_id}", json=policy_body()), 404, "policy_id")


def test_an_auditor_reads_but_cannot_change_policies(client, keys):
    pid = define(client)["sla_policy_id"]
    auditor = {"Authorization": f"Bearer {keys.auditor}"}
    assert client.get(f"/v1/sla-policies/{pid}", headers=auditor).status_code == 200
    assert client.get(f"/v1/sla-policies/{pid}/history", headers=auditor).status_code == 200
    assert is_problem(client.post("/v1/sla-policies", json=policy_body(), headers=auditor), 403)
    assert is_problem(client.put(f"/v1/sla-policies/{pid}", json=policy_body(), headers=auditor), 403)
    assert is_problem(client.delete(f"/v1/sla-policies/{pid}", headers=auditor), 403)


def test_an_agent_works_under_policies_but_cannot_define_revise_or_retire_them(client, keys):
    """Hostile run: an agent's key defined its own SLA policy. Agents and teams are managed by
    integrators and admins; SLA policies now are too."""
    pid = define(client)["sla_policy_id"]
    head = client.get("/v1/events").json()["head"]
    agent = {"Authorization": f"Bearer {keys.agent}"}
    assert client.get(f"/v1/sla-policies/{pid}", headers=agent).status_code == 200
    for refused in (client.post("/v1/sla-policies", json=policy_body(), headers=agent),
                    client.put(f"/v1/sla-policies/{pid}", json=policy_body(name="mine"), headers=agent),
                    client.delete(f"/v1/sla-policies/{pid}", headers=agent)):
        assert is_problem(refused, 403, "Authorization"), refused.text
    assert client.get("/v1/events").json()["head"] == head
    admin = {"Authorization": f"Bearer {keys.admin}"}
    assert client.post("/v1/sla-policies", json=policy_body(), headers=admin).status_code == 201


def test_a_retried_definition_returns_the_first_answer_and_stores_one_event(client):
    key = random_ref("idem-")
    head = client.get("/v1/events").json()["head"]
    first = client.post("/v1/sla-policies", json=policy_body(), headers={"Idempotency-Key": key})
    again = client.post("/v1/sla-policies", json=policy_body(), headers={"Idempotency-Key": key})

    assert first.status_code == again.status_code == 201
    assert again.json()["sla_policy_id"] == first.json()["sla_policy_id"] and again.json()["version"] == 1
    feed = client.get("/v1/events", params={"after": head, "limit": 1000}).json()["items"]
    assert [e["type"] for e in feed] == ["SlaPolicy.Defined"]

    other = client.post("/v1/sla-policies", json=policy_body(name="Another"), headers={"Idempotency-Key": key})
    assert is_problem(other, 409, "Idempotency-Key")


def test_a_retried_revision_appends_once(client):
    pid = define(client)["sla_policy_id"]
    key = random_ref("idem-")
    body = policy_body(rank=1, expected_version=1)
    first = client.put(f"/v1/sla-policies/{pid}", json=body, headers={"Idempotency-Key": key})
    again = client.put(f"/v1/sla-policies/{pid}", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200
    assert again.json()["version"] == first.json()["version"] == 2
    assert len(history(client, pid)) == 2


def test_the_tenant_feed_shows_policy_changes_to_the_tenant_only(client, keys):
    head = client.get("/v1/events").json()["head"]
    pid = define(client)["sla_policy_id"]
    client.put(f"/v1/sla-policies/{pid}", json=policy_body(rank=3))
    client.delete(f"/v1/sla-policies/{pid}")

    feed = client.get("/v1/events", params={"after": head, "limit": 1000}).json()["items"]
    assert [(e["type"], e["aggregate_id"], e["version"]) for e in feed] == [
        ("SlaPolicy.Defined", pid, 1), ("SlaPolicy.Revised", pid, 2), ("SlaPolicy.Retired", pid, 3)
    ]
    assert feed[1]["data"]["rank"] == 3
    other = client.get("/v1/events", params={"after": head, "limit": 1000}, headers={"Authorization": f"Bearer {keys.other}"})
    assert pid not in other.text


def test_the_openapi_document_describes_the_policy_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/v1/sla-policies/{policy_id}"]) == {"get", "put", "delete"}
    assert {"post", "get"} <= set(paths["/v1/sla-policies"])  # the list comes from the inbox read model


_policy_of_client: dict[int, str] = {}  # one policy per test's client, shared by its examples
scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
calendar_keys = st.sampled_from(["kind", "timezone", "weekly", "holiday_country", "holiday_subdivision", "holidays", "x"])
calendars = st.dictionaries(calendar_keys, json_values, max_size=6) | st.fixed_dictionaries(
    {"kind": st.just("business_hours"), "timezone": st.sampled_from(["Asia/Shanghai", "UTC", "", "Nope/Nope", "/etc/x"])},
    optional={
        "weekly": st.dictionaries(st.sampled_from(["mon", "sun", "xyz"]), st.lists(st.lists(st.sampled_from(["09:00", "24:00", "9", ""]) | json_values, max_size=3), max_size=2)) | json_values,
        "holiday_country": st.sampled_from(["CN", "cn", "China", None]) | json_values,
        "holiday_subdivision": st.sampled_from(["GD", None]) | json_values,
        "holidays": st.lists(st.sampled_from(["2026-10-01", "2026-13-01"]) | json_values, max_size=3) | json_values,
    },
)
bodies = st.fixed_dictionaries(
    {"name": st.just("fuzz"), "targets": st.just({"first_reply_minutes": 60}) | json_values},
    optional={"calendar": calendars | json_values, "match": json_values, "rank": json_values, "warning_percent": json_values},
) | json_values


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, revise=st.booleans())
def test_no_policy_body_is_a_500_and_a_refused_one_stores_nothing(client, body, revise):
    if id(client) not in _policy_of_client:
        _policy_of_client[id(client)] = define(client)["sla_policy_id"]
    head = client.get("/v1/events").json()["head"]
    if revise:
        response = client.put(f"/v1/sla-policies/{_policy_of_client[id(client)]}", json=body)
    else:
        response = client.post("/v1/sla-policies", json=body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert client.get("/v1/events").json()["head"] == head
