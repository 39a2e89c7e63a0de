"""Teams over HTTP: defined with a name and an escalation team; members are the agents who list the
team, its queue the team's tickets with no agent; an SLA breach can hand a ticket to the escalation
team of its team."""
from __future__ import annotations

import pytest

from tests.e2e.api import is_problem

pytestmark = pytest.mark.e2e


def test_a_team_is_defined_changed_and_shown_with_its_members(client):
    created = client.put("/v1/teams/refunds", json={"name": "Refunds", "escalation_team": "refund-leads"})
    assert created.status_code == 201, created.text
    again = client.put("/v1/teams/refunds", json={"name": "Refunds", "escalation_team": "refund-leads"})
    assert again.status_code == 200 and again.json()["position"] is None  # the same again: nothing appended
    seen = client.put("/v1/agents/li.na", json={"name": "Li Na", "teams": ["refunds", "vip"], "capacity": 3}).json()
    team = client.get("/v1/teams/refunds", params={"min_position": seen["position"]}).json()
    assert team == {"team_id": "refunds", "name": "Refunds", "escalation_team": "refund-leads", "defined": True,
                    "members": ["li.na"], "waiting": 0}
    listed = {t["team_id"]: t for t in client.get("/v1/teams").json()["items"]}
    assert listed["vip"]["defined"] is False and listed["vip"]["members"] == ["li.na"]
    stale = client.put("/v1/teams/refunds", json={"name": "Refund desk", "expected_version": 5})
    assert is_problem(stale, 409, "expected_version")


@pytest.mark.parametrize(("body", "field"), [
    ({"name": ""}, "name"),
    ({"name": "x", "escalation_team": "refunds"}, "escalation_team"),  # itself
    ({"name": "x", "escalation_team": "a\tb"}, "escalation_team"),
    ({"name": "x", "expected_version": 2**64}, "expected_version"),
])
def test_a_bad_team_is_a_422_naming_the_field(client, body, field):
    assert is_problem(client.put("/v1/teams/refunds", json=body), 422, field)


def test_an_unknown_team_is_404_and_another_tenants_team_is_unknown(client, keys):
    assert is_problem(client.get("/v1/teams/nobody"), 404, "team_id")
    client.put("/v1/teams/refunds", json={"name": "Refunds"})
    other = {"Authorization": f"Bearer {keys.other}"}
    assert is_problem(client.get("/v1/teams/refunds", headers=other), 404, "team_id")
