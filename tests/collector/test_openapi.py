"""The JSON API's description and its one error mapping, on a real collector.

The description is served without a key; real replies validate against the response models
it is built from; bad parameters are a 400 naming the parameter and its bounds on every
typed route, and an empty parameter means the default.
"""

from __future__ import annotations

import httpx
import pytest

from loopwise.collector.server.schemas import (
    HealthReply,
    SessionPage,
    SqlResult,
    TraceDetail,
    TracePage,
    UserPage,
)


@pytest.fixture(scope="module")
def stored_trace(api, otlp) -> str:
    trace_id = otlp.trace_id()
    root = otlp.span("answer", trace_id=trace_id, attributes={"session.id": "s-openapi"})
    child = otlp.span("retrieve", trace_id=trace_id, parent_span_id=root.span_id)
    api.export_ok(otlp.request([root, child], project="openapi"))
    return trace_id.hex()


def test_the_description_is_served_and_names_the_typed_routes(api) -> None:
    described = httpx.get(f"{api.base_url}/openapi.json").json()

    assert described["info"]["title"] == "loopwise collector"
    for path in ("/api/traces", "/api/traces/{trace_id}", "/api/sql", "/api/overview", "/health"):
        assert path in described["paths"]
    limit = next(
        p for p in described["paths"]["/api/traces"]["get"]["parameters"] if p["name"] == "limit"
    )
    assert limit["schema"]["maximum"] == 1000
    assert httpx.get(f"{api.base_url}/docs").status_code == 200


def test_docs_load_swagger_ui_from_the_collector_not_a_cdn(api) -> None:
    import re

    page = httpx.get(f"{api.base_url}/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/docs/assets/") for s in sources), sources
    for source in sources:
        asset = httpx.get(f"{api.base_url}{source}")
        assert asset.status_code == 200, source
        assert len(asset.content) > 100
    assert "/openapi.json" in page.text


def test_real_replies_validate_against_their_models(api, stored_trace: str) -> None:
    base = api.base_url
    page = TracePage.model_validate(httpx.get(f"{base}/api/traces?project=openapi").json())
    assert [t.trace_id for t in page.traces] == [stored_trace]
    detail = TraceDetail.model_validate(httpx.get(f"{base}/api/traces/{stored_trace}").json())
    assert len(detail.spans) == 2
    SessionPage.model_validate(httpx.get(f"{base}/api/sessions?project=openapi").json())
    UserPage.model_validate(httpx.get(f"{base}/api/users").json())
    HealthReply.model_validate(httpx.get(f"{base}/health").json())
    reply = httpx.post(f"{base}/api/sql", json={"sql": "SELECT 1 AS one"})
    assert SqlResult.model_validate(reply.json()).rows == [[1]]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/traces?limit=0", "limit must be between 1 and 1000, got 0"),
        ("/api/traces?limit=many", "limit must be an integer, got 'many'"),
        ("/api/traces?offset=-1", "offset must be between 0 and 10000000"),
        ("/api/traces?status=maybe", "status must be 'error' or 'ok', got 'maybe'"),
        ("/api/traces?project=" + "p" * 1001, "project is longer than 1000 characters"),
        ("/api/traces?since=yesterday", "since must be an ISO 8601 time"),
        ("/api/traces/xyz", "trace id must be 32 hex characters"),
        ("/api/overview?bucket_seconds=0", "bucket_seconds must be between 1 and"),
        ("/api/audit?limit=0", "limit must be between 1 and"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(api, path: str, expected: str) -> None:
    reply = httpx.get(f"{api.base_url}{path}")

    assert reply.status_code == 400
    assert reply.json() == {"error": reply.json()["error"]}
    assert expected in reply.json()["error"]


def test_an_empty_parameter_means_the_default(api, stored_trace: str) -> None:
    reply = httpx.get(f"{api.base_url}/api/traces?limit=&offset=&status=&project=openapi")

    assert reply.status_code == 200
    assert reply.json()["limit"] == 50
    assert [t["trace_id"] for t in reply.json()["traces"]] == [stored_trace]


def test_an_unknown_trace_and_a_bad_sql_body_answer_in_the_one_shape(api) -> None:
    missing = httpx.get(f"{api.base_url}/api/traces/{'0' * 32}")
    assert missing.status_code == 404
    assert missing.json() == {"error": f"no trace {'0' * 32}"}

    bad = httpx.post(
        f"{api.base_url}/api/sql", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 400
    assert bad.json()["error"] == 'body must be JSON: an object with "sql"'


def test_a_json_body_labelled_as_a_form_is_still_read(api) -> None:
    """``curl -d '{"sql": ...}'`` labels its JSON body application/x-www-form-urlencoded."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    reply = httpx.post(f"{api.base_url}/api/sql", content=b'{"sql": "SELECT 2"}', headers=headers)
    assert reply.status_code == 200, reply.text
    assert reply.json()["rows"] == [[2]]


@pytest.mark.parametrize("path", ["/api/datasets/%2F", "/api/traces/", "/api/overview/"])
def test_a_path_that_matches_nothing_is_a_404_not_a_redirect(api, path: str) -> None:
    reply = httpx.get(f"{api.base_url}{path}")
    assert reply.status_code == 404, (reply.status_code, reply.headers)
    assert "error" in reply.json()


def test_the_description_is_open_on_a_keyed_collector_and_nothing_else_is(tmp_path) -> None:
    from loopwise.collector.server import CollectorConfig, CollectorServer

    config = CollectorConfig(db_path=tmp_path / "keyed.duckdb", port=0, api_key="s3cret")
    with CollectorServer(config) as server, httpx.Client(base_url=server.url) as http:
        for path in ("/docs", "/docs/assets/swagger-ui.css", "/openapi.json"):
            assert http.get(path).status_code == 200, path
        assert http.get("/docs/assets/../../api/traces").status_code in (401, 404)
        assert http.get("/api/traces").status_code == 401
