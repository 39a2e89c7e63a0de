"""Whatever an integrator sends, the answer is never a 500 and a refused request stores nothing."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.api import inbound, message

pytestmark = pytest.mark.e2e

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
FIELDS = ["channel", "external_thread_id", "external_user_id", "external_message_id", "text", "sent_at", "customer",
          "order_id", "attachments", "subject", "status", "priority", "category", "score", "comment", "agent_id",
          "team_id", "add", "remove", "into_ticket_id", "expected_version", "customer_id", "reason", "tags"]
bodies = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6) | json_values
VERBS = ["replies", "notes", "assignment", "status", "priority", "category", "tags", "orders", "merge", "rating"]
fuzz = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_ticket_of_client: dict[int, str] = {}  # one ticket per test's client, shared by its examples


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@fuzz
@given(verb=st.sampled_from(VERBS), body=bodies)
def test_ticket_commands_never_answer_500(client, verb, body):
    if id(client) not in _ticket_of_client:
        _ticket_of_client[id(client)] = inbound(client)["ticket_id"]
    ticket_id = _ticket_of_client[id(client)]
    response = client.post(f"/v1/tickets/{ticket_id}/{verb}", json=body)
    assert response.status_code < 500, response.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@fuzz
@given(over=st.dictionaries(st.sampled_from(FIELDS[:10]), json_values, max_size=3))
def test_intake_never_answers_500_and_a_refusal_stores_nothing(client, over):
    head = client.get("/v1/events").json()["head"]
    response = client.post("/v1/inbound-messages", json=message(**over))
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert client.get("/v1/events").json()["head"] == head


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@fuzz
@given(raw=st.binary(max_size=400) | st.text(max_size=400).map(lambda t: ("Message-ID: <x@y>\r\nFrom: a@b.c\r\n" + t).encode()))
def test_raw_email_never_answers_500(client, raw):
    response = client.post("/v1/channels/email/inbound", content=raw, headers={"Content-Type": "message/rfc822"})
    assert response.status_code < 500, response.text
