"""Read-your-writes: a query given the position a command answered waits for the read model to reach it.

The test client runs the projections in-process, as `serve` does, so nothing here calls the
projector: what a query sees is what the follower has applied.
"""
import pytest

from tests.e2e.api import inbound

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    "path",
    ["/v1/inbox?limit=200", "/v1/customers/{customer}/timeline", "/v1/tickets/{ticket}/sla", "/v1/analytics/daily?from=2026-11-01&to=2026-12-31"],
)
def test_a_query_with_min_position_sees_the_command_that_answered_it(client, path):
    answer = inbound(client, text="快递三天没更新了")
    url = path.format(customer=answer["customer_id"], ticket=answer["ticket_id"])

    response = client.get(url, params={"min_position": answer["position"]})

    assert response.status_code == 200, response.text
    assert int(response.headers["X-Read-Model-Position"]) >= answer["position"]
    if "inbox" in path or "sla" in path:
        assert answer["ticket_id"] in response.text


def test_min_position_must_be_a_log_position(client):
    response = client.get("/v1/inbox", params={"min_position": -1})

    assert response.status_code == 422 and "min_position" in response.text
