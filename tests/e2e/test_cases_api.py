"""Case files over HTTP: JSON and the HTML document, who may read them, and hostile parameters."""
from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from ledgerdesk.application.case_files.verification import check_case
from ledgerdesk.interfaces.http.app import create_app
from tests.case_story import HOSTILE, Story, tell_story
from tests.conftest import Keys, runtime_of
from tests.e2e.api import is_problem

pytestmark = pytest.mark.e2e


@pytest.fixture
def story(ledger, read_store, projector, clock, keys: Keys) -> Story:  # type: ignore[no-untyped-def]
    return tell_story(ledger, read_store, projector, clock, tenant=keys.tenant)


@pytest.fixture
def api(settings, ledger, keys: Keys, read_store) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(runtime_of(settings, ledger, keys, read_store)), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {keys.auditor}"
        yield c


def test_the_json_case_is_the_whole_story_and_checks(api: TestClient, story: Story) -> None:
    response = api.get("/v1/cases", params={"order_id": story.order_id})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    case = response.json()
    assert set(case["scope"]["ticket_ids"]) == {story.taobao_ticket, story.email_ticket}
    assert {e["type"] for e in case["entries"]} >= {"Ticket.ReplySent", "Ticket.Escalated", "Ticket.CategoryChanged"}
    assert check_case(case).verified


def test_as_of_a_middle_moment_over_http(api: TestClient, story: Story) -> None:
    whole = api.get("/v1/cases", params={"order_id": story.order_id}).json()
    middle = api.get("/v1/cases", params={"order_id": story.order_id, "as_of": story.middle.isoformat()}).json()
    assert middle["as_of"] == story.middle.isoformat() and len(middle["entries"]) < len(whole["entries"])
    assert "Ticket.ReplySent" not in {e["type"] for e in middle["entries"]}


def test_the_html_document_is_self_contained_escaped_and_in_either_language(api: TestClient, story: Story) -> None:
    for lang, title in (("en", "Case file"), ("zh", "案卷")):
        response = api.get("/v1/cases.html", params={"order_id": story.order_id, "lang": lang})
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        assert "script-src" not in response.headers["content-security-policy"]  # the document runs no script
        html = response.text
        assert title in html and "@media print" in html and "ledgerdesk audit verify-file" in html
        assert HOSTILE not in html and "&lt;script&gt;alert(&#39;case&#39;)&lt;/script&gt;" in html
        assert "<script" not in html and "http://" not in html and "https://" not in html  # nothing fetched from anywhere
        assert 'class="cause" href="#e-' in html


def test_who_reads_cases(api: TestClient, story: Story, keys: Keys) -> None:
    for key, status in ((keys.auditor, 200), (keys.admin, 200), (keys.agent, 200), (keys.integrator, 403)):
        response = api.get("/v1/cases", params={"ticket_id": story.taobao_ticket}, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == status, (key, response.text)
    assert is_problem(api.get("/v1/cases", params={"ticket_id": story.taobao_ticket}, headers={"Authorization": ""}), 401)
    other = api.get("/v1/cases", params={"order_id": story.order_id}, headers={"Authorization": f"Bearer {keys.other}"})
    assert other.status_code == 403  # the other tenant's key is an integrator's (its auditor gets 404: below)


def test_another_tenants_ids_are_not_found(settings, ledger, read_store, story: Story, keys: Keys) -> None:  # type: ignore[no-untyped-def]
    from ledgerdesk.interfaces.settings import ApiKey, Role

    runtime = runtime_of(settings, ledger, keys, read_store)
    runtime.settings.api_keys["other-auditor"] = ApiKey(tenant=keys.other_tenant, actor="nosy", role=Role.AUDITOR)
    with TestClient(create_app(runtime), raise_server_exceptions=False) as other:
        other.headers["Authorization"] = "Bearer other-auditor"
        for field, value in (("order_id", story.order_id), ("ticket_id", story.taobao_ticket), ("customer_id", story.customer_id)):
            assert is_problem(other.get("/v1/cases", params={field: value}), 404, field)


@pytest.mark.parametrize("query, field", [
    ("", "order_id"),
    ("order_id=A&ticket_id=00000000-0000-4000-8000-000000000001", "ticket_id"),
    ("order_id=A%00B", "order_id"),
    ("order_id=" + "x" * 129, "order_id"),
    ("ticket_id=" + str(2**64), "ticket_id"),
    ("customer_id=" + "9" * 5000, "customer_id"),
    ("order_id=A&as_of=0001-01-01T00:00:00Z", "as_of"),
    ("order_id=A&as_of=9999-12-31T23:59:59Z", "as_of"),
    ("order_id=A&as_of=2026-11-11T08:00:00", "as_of"),
    ("order_id=A&as_of=2026-11-11", "as_of"),
    ("order_id=A&as_of=" + str(2**64), "as_of"),
    ("order_id=A&as_of=" + quote("2026-11-11T08:00:00+08:00\x00"), "as_of"),
    ("order_id=A&lang=fr", "lang"),
    ("order_id=A&format=html", "format"),
])
def test_hostile_parameters_are_4xx_naming_the_field(api: TestClient, story: Story, query: str, field: str) -> None:
    path = "/v1/cases.html" if "lang=" in query else "/v1/cases"
    response = api.get(f"{path}?{query}")
    assert 400 <= response.status_code < 500 and response.json().get("field") == field, response.text


def test_a_future_as_of_and_an_unknown_order_are_refused(api: TestClient, story: Story) -> None:
    assert is_problem(api.get("/v1/cases", params={"order_id": story.order_id, "as_of": "2099-01-01T00:00:00Z"}), 422, "as_of")
    assert is_problem(api.get("/v1/cases", params={"order_id": "no-such-order"}), 404, "order_id")


def test_the_page_shell_holds_no_data_and_allows_only_its_own_script(api: TestClient) -> None:
    page = api.get("/cases/view", params={"order_id": "X"}, headers={"Authorization": ""})
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert page.text.count("<script") == 1 and '<script src="/cases/view.js"></script>' in page.text  # no inline script
    script = api.get("/cases/view.js", headers={"Authorization": ""})
    assert script.status_code == 200 and "Authorization: \"Bearer \" + key" in script.text


def test_the_openapi_document_describes_both_answers(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert paths["/v1/cases"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/CaseFile")
    assert "text/html" in paths["/v1/cases.html"]["get"]["responses"]["200"]["content"]
    assert "/cases/view" not in paths


def test_an_auditors_case_and_verification_reads_are_in_the_access_log(api: TestClient, story: Story, keys: Keys) -> None:
    assert api.get("/v1/cases", params={"order_id": story.order_id}).status_code == 200
    assert api.get("/v1/audit/verify", params={"stream": story.taobao_ticket}).status_code == 200
    admin = {"Authorization": f"Bearer {keys.admin}"}
    items = api.get("/v1/audit/access-log", headers=admin).json()["items"]
    assert [(i["what"], i["target"]) for i in items][-2:] == [
        ("case_export", f"order/{story.order_id}"), ("verify", f"stream/{story.taobao_ticket}")]
