"""GET /v1/analytics/daily over HTTP: the figures of a known day, the default range, and 422s naming the field."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import random_ref
from tests.e2e.api import command, is_problem

pytestmark = pytest.mark.e2e

DAY = datetime(2026, 11, 2, tzinfo=timezone.utc)
NEXT_DAY = DAY + timedelta(days=1)


@pytest.fixture
def analytics(client, read_store, projector):
    """The API reading the test's read store; `catch_up()` brings the read models up to date."""
    if getattr(client.app.state, "read_store", None) is None:
        client.app.state.read_store = read_store
    return projector


def at(clock, moment: datetime) -> None:
    clock.now = moment - timedelta(seconds=1)  # the stepping clock moves one second at the reading


def open_ticket(client, clock, moment: datetime, channel: str = "email") -> str:
    at(clock, moment)
    body = {"subject": "Where is my parcel?", "customer": {"email": f"{random_ref('buyer-')}@example.com"}, "channel": channel}
    response = client.post("/v1/tickets", json=body)
    assert response.status_code == 201, response.text
    return response.json()["ticket_id"]


def act(client, clock, moment: datetime, ticket_id: str, verb: str, body: dict[str, Any], key: str | None = None) -> None:
    at(clock, moment)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = command(client, ticket_id, verb, body, headers=headers)
    assert response.status_code == 200, response.text


def get_daily(client, analytics, **params: str):
    analytics.catch_up()
    return client.get("/v1/analytics/daily", params=params)


def test_a_day_of_one_channel_with_known_durations(client, clock, keys, analytics):
    replies_after = (60, 120, 600)
    tickets = []
    for i, after in enumerate(replies_after):
        opened = DAY.replace(hour=9, minute=10 * i)
        tid = open_ticket(client, clock, opened)
        act(client, clock, opened + timedelta(seconds=after), tid, "replies", {"text": "On its way."}, keys.agent)
        tickets.append((tid, opened))
    solved_tid, solved_opened = tickets[0]
    act(client, clock, solved_opened + timedelta(hours=3), solved_tid, "status", {"status": "solved"}, keys.agent)
    act(client, clock, NEXT_DAY.replace(hour=8), solved_tid, "rating", {"score": 2})
    act(client, clock, NEXT_DAY.replace(hour=9), solved_tid, "rating", {"score": 4})  # replaces the 2
    open_ticket(client, clock, DAY.replace(hour=23), channel="web_chat")

    response = get_daily(client, analytics, **{"from": "2026-11-02", "to": "2026-11-03"})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert (body["from"], body["to"], body["timezone"]) == ("2026-11-02", "2026-11-03", "UTC")
    assert [(d["day"], d["channel"]) for d in body["days"]] == [
        ("2026-11-02", "email"), ("2026-11-02", "web_chat"), ("2026-11-03", "email")
    ]
    email = body["days"][0]
    assert email["tickets_opened"] == 3 and email["tickets_solved"] == 1
    assert email["first_reply_seconds"] == {"median": 120.0, "p90": 504.0, "count": 3}
    assert email["resolution_seconds"] == {"median": 10800.0, "p90": 10800.0, "count": 1}
    assert email["csat"] == {"average": None, "count": 0}
    assert set(email["sla_attainment"]) == {"first_reply", "next_reply", "periodic_update", "resolution"}
    assert email["sla_attainment"]["first_reply"].keys() == {"met", "missed", "rate"}
    assert body["days"][2]["csat"] == {"average": 4.0, "count": 1}
    totals = body["totals"]
    assert (totals["tickets_opened"], totals["tickets_solved"]) == (4, 1)
    assert totals["first_reply_seconds"] == {"median": 120.0, "p90": 504.0, "count": 3}
    assert totals["csat"] == {"average": 4.0, "count": 1}

    only_chat = get_daily(client, analytics, **{"from": "2026-11-02", "to": "2026-11-03", "channel": "web_chat"}).json()
    assert [(d["day"], d["channel"], d["tickets_opened"]) for d in only_chat["days"]] == [("2026-11-02", "web_chat", 1)]
    all_channels = get_daily(client, analytics, **{"from": "2026-11-02", "to": "2026-11-03", "channel": ""}).json()
    assert all_channels["totals"]["tickets_opened"] == 4

    # Another tenant, and a role that only reads: each sees its own tenant.
    other = client.get("/v1/analytics/daily", params={"from": "2026-11-02", "to": "2026-11-03"},
                       headers={"Authorization": f"Bearer {keys.other}"}).json()
    assert other["days"] == [] and other["totals"]["tickets_opened"] == 0
    auditor = client.get("/v1/analytics/daily", params={"from": "2026-11-02", "to": "2026-11-03"},
                         headers={"Authorization": f"Bearer {keys.auditor}"})
    assert auditor.status_code == 200 and auditor.json()["totals"]["tickets_opened"] == 4


def test_the_default_range_is_the_last_30_days_ending_today_by_the_ledgers_clock(client, clock, analytics):
    open_ticket(client, clock, datetime(2026, 10, 13, 0, 0, 5, tzinfo=timezone.utc))  # the first day of the range
    open_ticket(client, clock, datetime(2026, 10, 12, 23, 59, tzinfo=timezone.utc))   # the day before it
    at(clock, datetime(2026, 11, 11, 15, 0, tzinfo=timezone.utc))

    body = get_daily(client, analytics).json()

    assert (body["from"], body["to"]) == ("2026-10-13", "2026-11-11")
    # Opened on the 13th; the default SLA policy's first-reply and resolution clocks fell due later.
    assert [d["day"] for d in body["days"] if d["tickets_opened"]] == ["2026-10-13"]
    assert sum(d["tickets_opened"] for d in body["days"]) == 1

    only_to = get_daily(client, analytics, to="2026-10-20").json()
    assert (only_to["from"], only_to["to"]) == ("2026-09-21", "2026-10-20")
    assert only_to["totals"]["tickets_opened"] == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-11-05", "to": "2026-11-01"}, "to"),
        ({"from": "2025-11-01", "to": "2026-11-02"}, "from"),  # 367 days
        ({"from": "2020-01-01"}, "from"),
        ({"from": "2026-13-01", "to": "2026-12-01"}, "from"),
        ({"from": "20261101", "to": "2026-11-30"}, "from"),
        ({"from": "2026-11-01", "to": "next tuesday"}, "to"),
        ({"channel": "carrier-pigeon"}, "channel"),
        ({"channel": "EMAIL"}, "channel"),
    ],
)
def test_bad_queries_are_422_problems_naming_the_field(client, analytics, params, field):
    response = get_daily(client, analytics, **params)

    assert is_problem(response, 422, field), response.text
    assert response.json()["detail"]


def test_a_range_of_366_days_is_allowed(client, analytics):
    response = get_daily(client, analytics, **{"from": "2025-11-03", "to": "2026-11-03"})

    assert response.status_code == 200, response.text
    assert response.json()["days"] == []


def test_analytics_need_an_api_key(client):
    response = client.get("/v1/analytics/daily", headers={"Authorization": ""})

    assert is_problem(response, 401, "Authorization")
