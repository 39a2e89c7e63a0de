"""Triage rules over HTTP: the tenant's own, replaced whole by an admin, read by anyone of the
tenant, each version an audited event; another tenant's are invisible and out of reach."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgerdesk.domain.triage import default_rules
from tests.conftest import random_ref
from tests.e2e.api import is_problem

pytestmark = pytest.mark.e2e


def admin(keys) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {keys.admin}"}


def rules_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "rules": [
            {"id": "chargeback", "name": "Chargebacks", "keywords": ["拒付", "Chargeback"], "priority": "urgent"},
            {"id": "refund", "keywords": ["退款", "refund", "money back"], "category": "refund"},
        ],
        "reason": "Double 11 season",
    }
    body.update(over)
    return body


def put(client, keys, **over: Any):  # type: ignore[no-untyped-def]
    return client.put("/v1/triage-rules", json=rules_body(**over), headers=admin(keys))


def current(client, headers=None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.get("/v1/triage-rules", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def history(client, headers=None) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    response = client.get("/v1/triage-rules/history", params={"limit": 50}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_tenant_that_never_defined_rules_reads_the_defaults_as_version_0(client):
    got = current(client)
    assert (got["version"], got["source"], got["defined_at"]) == (0, "default", None)
    assert got["rules"] == [rule.to_dict() for rule in default_rules()]
    assert history(client) == []


def test_define_then_read_back_in_canonical_form_with_the_history(client, keys):
    answer = put(client, keys)
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"] == 1 and answer.json()["created"] is True and isinstance(answer.json()["position"], int)

    got = current(client)
    assert (got["version"], got["source"]) == (1, "tenant")
    assert got["rules"][0] == {"id": "chargeback", "name": "Chargebacks", "keywords": ["拒付", "chargeback"],
                               "category": None, "priority": "urgent", "language": None, "negative_wording": False,
                               "version": 1}
    assert got["rules"][1]["version"] == 2  # the defaults' refund rule had other keywords: its version 2
    events = history(client)
    assert [e["type"] for e in events] == ["TriageRules.Defined"]
    assert events[0]["actor"] == {"kind": "agent", "id": "admin-abe"} and events[0]["reason"] == "Double 11 season"
    assert events[0]["data"]["rules"] == got["rules"]


def test_revise_with_expected_version_and_a_stale_one_is_a_409(client, keys):
    assert is_problem(put(client, keys, expected_version=3), 409, "expected_version")  # the defaults are version 0
    assert put(client, keys, expected_version=0).status_code == 201

    revised = put(client, keys, rules=[{"id": "refund", "keywords": ["退款"], "category": "refund"}], expected_version=1,
                  reason="fewer rules")
    assert revised.status_code == 200 and revised.json()["version"] == 2 and revised.json()["created"] is False

    stale = put(client, keys, expected_version=1)
    assert is_problem(stale, 409, "expected_version")
    assert is_problem(put(client, keys, expected_version=0), 409, "expected_version")
    assert current(client)["version"] == 2
    events = history(client)
    assert [(e["type"], e["version"], e["reason"]) for e in events] == [
        ("TriageRules.Defined", 1, "Double 11 season"), ("TriageRules.Revised", 2, "fewer rules")]
    assert events[1]["occurred_at"] and events[1]["actor"]["id"] == "admin-abe"


def test_the_same_rules_again_append_nothing(client, keys):
    put(client, keys)
    same = put(client, keys, rules=[{**r, "keywords": [k.upper() for k in r["keywords"]]} for r in rules_body()["rules"]])
    assert same.status_code == 200 and same.json()["position"] is None and same.json()["version"] == 1
    assert len(history(client)) == 1


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ([{"id": "r", "keywords": ["退款\x00"], "category": "refund"}], "rules.0.keywords"),
        ([{"id": "r", "keywords": ["a\x85b"], "category": "refund"}], "rules.0.keywords.0"),
        ([{"id": "r", "keywords": ["ok"], "category": "refund", "name": "tab\there"}], "rules.0.name"),
        ([{"id": "r", "keywords": [], "category": "refund"}], "rules.0.keywords"),
        ([{"id": "r", "keywords": ["x" * 101], "category": "refund"}], "rules.0.keywords.0"),
        ([{"id": "r", "keywords": ["refund", "REFUND"], "category": "refund"}], "rules.0.keywords.1"),
        ([{"id": "r", "keywords": ["   "], "category": "refund"}], "rules.0.keywords.0"),
        ([{"id": "r", "keywords": ["ok"]}], "rules.0.category"),
        ([{"id": "r", "keywords": ["ok"], "category": "sky"}], "rules.0.category"),
        ([{"id": "r", "keywords": ["ok"], "priority": "sky-high"}], "rules.0.priority"),
        ([{"id": "r", "keywords": ["ok"], "priority": "high", "language": "chinese"}], "rules.0.language"),
        ([{"id": "r", "keywords": ["ok"], "priority": "high", "language": "qq"}], "rules.0.language"),
        ([{"id": "r", "keywords": ["ok"], "priority": "high", "negative_wording": "yes"}], "rules.0.negative_wording"),
        ([{"id": "r", "keywords": ["ok"], "priority": "high", "regex": ".*"}], "rules.0.regex"),
        ([{"id": "R 1", "keywords": ["ok"], "priority": "high"}], "rules.0.id"),
        ([{"id": "r", "keywords": ["ok"], "priority": "high"}] * 2, "rules.1.id"),
        ([{"id": f"r{i}", "keywords": ["ok"], "priority": "high"} for i in range(201)], "rules"),
        ([{"id": f"r{i}", "keywords": [f"k{j}" for j in range(50)], "priority": "high"} for i in range(41)], "rules.40.keywords"),
        ([{"id": "r", "keywords": [2**64], "priority": "high"}], "rules.0.keywords.0"),
        ("refund", "rules"),
        (None, "rules"),
    ],
)
def test_invalid_rules_are_a_422_naming_the_field_and_store_nothing(client, keys, rules, field):
    head = client.get("/v1/events").json()["head"]
    response = put(client, keys, rules=rules)
    assert is_problem(response, 422, field), response.text
    assert client.get("/v1/events").json()["head"] == head
    assert current(client)["version"] == 0


@pytest.mark.parametrize(("over", "field"), [
    ({"expected_version": 2**64}, "expected_version"),
    ({"expected_version": -1}, "expected_version"),
    ({"expected_version": "1"}, "expected_version"),
    ({"reason": "x" * 1001}, "reason"),
    ({"reason": "why\x00"}, "reason"),
    ({"extra": 1}, "extra"),
])
def test_invalid_envelopes_are_a_422_naming_the_field(client, keys, over, field):
    assert is_problem(put(client, keys, **over), 422, field)


def test_a_body_over_the_limit_is_a_413_and_not_json_a_400(client, keys):
    huge = {"rules": [{"id": "r", "keywords": ["x" * 100] * 50, "priority": "high"}] * 300}
    assert is_problem(client.put("/v1/triage-rules", json=huge, headers=admin(keys)), 413)
    broken = client.put("/v1/triage-rules", content=b"{not json", headers={**admin(keys), "Content-Type": "application/json"})
    assert is_problem(broken, 400)


@pytest.mark.parametrize("role", ["auditor", "integrator", "agent"])
def test_only_an_admin_changes_the_rules_and_every_role_reads_them(client, keys, role):
    put(client, keys)
    headers = {"Authorization": f"Bearer {getattr(keys, role)}"}
    assert is_problem(client.put("/v1/triage-rules", json=rules_body(rules=[]), headers=headers), 403, "Authorization")
    assert current(client, headers)["version"] == 1
    assert len(history(client, headers)) == 1


def test_another_tenants_rules_are_invisible_and_unchangeable(client, keys):
    put(client, keys)
    other = {"Authorization": f"Bearer {keys.other}"}
    assert current(client, other)["source"] == "default" and history(client, other) == []
    assert is_problem(client.put("/v1/triage-rules", json=rules_body(rules=[]), headers=other), 403)  # an integrator
    head = client.get("/v1/events").json()["head"]
    feed = client.get("/v1/events", params={"after": 0, "limit": 1000}, headers=other).json()["items"]
    assert not any(e["type"].startswith("TriageRules.") for e in feed)
    mine = client.get("/v1/events", params={"after": 0, "limit": 1000}).json()["items"]
    assert [e["type"] for e in mine if e["type"].startswith("TriageRules.")] == ["TriageRules.Defined"]
    assert head >= mine[-1]["position"]


def test_a_retried_put_answers_the_first_answer_and_appends_once(client, keys):
    key = {"Idempotency-Key": random_ref("idem-")}
    first = client.put("/v1/triage-rules", json=rules_body(), headers={**admin(keys), **key})
    again = client.put("/v1/triage-rules", json=rules_body(), headers={**admin(keys), **key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert len(history(client)) == 1
    other = client.put("/v1/triage-rules", json=rules_body(rules=[]), headers={**admin(keys), **key})
    assert is_problem(other, 409, "Idempotency-Key")


def test_the_history_pages_and_refuses_unknown_parameters(client, keys):
    put(client, keys)
    put(client, keys, rules=[])
    page = client.get("/v1/triage-rules/history", params={"limit": 1}).json()
    assert [e["version"] for e in page["items"]] == [1] and page["next_after_version"] == 1
    rest = client.get("/v1/triage-rules/history", params={"after_version": 1}).json()
    assert [e["version"] for e in rest["items"]] == [2] and rest["next_after_version"] is None
    assert is_problem(client.get("/v1/triage-rules/history", params={"after_version": 2**64}), 422, "after_version")
    assert is_problem(client.get("/v1/triage-rules", params={"tenant": "other"}), 422, "tenant")


scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
rule_keys = st.sampled_from(["id", "name", "keywords", "category", "priority", "language", "negative_wording", "x"])
rules = st.lists(st.dictionaries(rule_keys, json_values, max_size=7) | st.fixed_dictionaries(
    {"id": st.sampled_from(["r", "r-1", "R", ""]), "keywords": st.lists(st.text(max_size=8) | json_values, max_size=3)},
    optional={"category": st.sampled_from(["refund", "sky", None]) | json_values,
              "priority": st.sampled_from(["urgent", "low", ""]) | json_values,
              "language": st.sampled_from(["zh", "en", "zz", "ZH", None]) | json_values},
) | json_values, max_size=4)
bodies = st.fixed_dictionaries({"rules": rules}, optional={"expected_version": json_values, "reason": json_values}) | json_values


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_no_rules_body_is_a_500_and_a_refused_one_stores_nothing(client, keys, body):
    head = client.get("/v1/events").json()["head"]
    response = client.put("/v1/triage-rules", json=body, headers=admin(keys))
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert client.get("/v1/events").json()["head"] == head
