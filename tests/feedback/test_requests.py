"""The feedback operations' request models: one validation for both transports (a bad query
value or body field is the same 400 with the same message over HTTP and on a file), and
/openapi.json describing each route's query parameters and body from those models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from loopwise.collector.server import CollectorServer
from loopwise.feedback import STATES, FeedbackError, LocalBackend, all_operations

BAD_REQUESTS = [
    ("GET", "/api/reviews", {"limit": "0"}, None, "limit must be between 1 and 1000, got 0"),
    ("GET", "/api/reviews", {"limit": "abc"}, None, "limit must be an integer, got 'abc'"),
    ("GET", "/api/reviews", {"offset": "-3"}, None, "offset must be between 0 and 10000000"),
    (
        "GET",
        "/api/reviews",
        {"state": "done"},
        None,
        "state must be 'held', 'open', 'approved', 'corrected' or 'rejected', got 'done'",
    ),
    ("GET", "/api/calibration", {"min_labels": "0"}, None, "min_labels must be between 1 and"),
    ("GET", "/api/datasets/d/diff", {"from": "0"}, None, "from must be between 1 and 10000000"),
    ("GET", "/api/reviews/rev_x/decision", {"wait": "soon"}, None, "wait must be a number"),
    ("POST", "/api/reviews", None, {"trace_id": "0" * 32, "actor": 7}, "actor must be a string"),
    ("POST", "/api/reviews", None, {"trace_id": "0" * 32}, "actor is required"),
    ("POST", "/api/reviews", None, [1, 2], "the request body must be a JSON object"),
    (
        "POST",
        "/api/reviews/rev_x/actions",
        None,
        {"action": "approve", "actor": "a", "expected_version": "2"},
        "expected_version must be an integer, got '2'",
    ),
    (
        "POST",
        "/api/datasets",
        None,
        {"name": "d", "actor": "a", "from_spans": {"where": "1=1", "limit": "5"}},
        "from_spans.limit must be an integer, got '5'",
    ),
    (
        "POST",
        "/api/datasets",
        None,
        {"name": "d", "actor": "a", "from_corrections": ["c1"]},
        "from_corrections must be an object",
    ),
    (
        "POST",
        "/api/prompts/p/proposals",
        None,
        {"actor": "a", "max_examples": 50},
        "max_examples must be between 1 and 20, got 50",
    ),
    (
        "POST",
        "/api/prompts/p/versions",
        None,
        {"template": "Hi", "actor": "a", "labels": "production"},
        "labels must be a list",
    ),
]


@pytest.fixture
def local(db_path: Path) -> Iterator[LocalBackend]:
    backend = LocalBackend(db_path)
    yield backend
    backend.close()


@pytest.mark.parametrize(("method", "path", "query", "body", "message"), BAD_REQUESTS)
def test_a_bad_request_is_the_same_400_over_http_and_on_a_file(
    shared_collector: CollectorServer,
    local: LocalBackend,
    method: str,
    path: str,
    query: dict[str, str] | None,
    body: Any,
    message: str,
) -> None:
    reply = httpx.request(method, shared_collector.url + path, params=query, json=body, timeout=30)
    assert reply.status_code == 400, reply.text
    assert reply.json() == {"error": reply.json()["error"]}
    assert message in reply.json()["error"]

    with pytest.raises(FeedbackError) as caught:
        local.call(method, path, query=query, body=body)
    assert (caught.value.status, str(caught.value)) == (400, reply.json()["error"])


def test_empty_and_unknown_query_parameters_are_ignored_on_both_transports(
    shared_collector: CollectorServer, local: LocalBackend
) -> None:
    query = {"limit": "", "offset": "", "state": "", "colour": "blue"}
    reply = httpx.get(shared_collector.url + "/api/reviews", params=query, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"items": []}
    assert local.call("GET", "/api/reviews", query=query) == {"items": []}


def test_the_description_shows_query_parameters_and_bodies_from_the_models(
    shared_collector: CollectorServer,
) -> None:
    paths = httpx.get(shared_collector.url + "/openapi.json", timeout=30).json()["paths"]

    listed = {p["name"]: p for p in paths["/api/reviews"]["get"]["parameters"]}
    assert listed["limit"]["in"] == "query"
    assert listed["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 1000,
        "default": 50,
        "title": "Limit",
    }
    assert listed["offset"]["schema"]["maximum"] == 10_000_000
    assert listed["state"]["schema"]["enum"] == list(STATES)
    diff = [p["name"] for p in paths["/api/prompts/{name}/diff"]["get"]["parameters"]]
    assert diff == ["name", "to", "from"]
    wait = paths["/api/reviews/{item_id}/decision"]["get"]["parameters"][1]
    assert (wait["name"], wait["schema"]["type"]) == ("wait", "number")

    action = paths["/api/reviews/{item_id}/actions"]["post"]["requestBody"]
    schema = action["content"]["application/json"]["schema"]
    assert action["required"] is True
    assert set(schema["required"]) == {"action", "actor"}
    assert {"action", "actor", "expected_version", "corrected_output", "verdicts"} <= set(
        schema["properties"]
    )
    assert schema["properties"]["action"]["enum"][:3] == ["assign", "comment", "approve"]
    create = paths["/api/datasets"]["post"]["requestBody"]["content"]["application/json"]
    from_spans = create["schema"]["properties"]["from_spans"]["anyOf"][0]
    assert from_spans["required"] == ["where"]  # the nested model written in place
    feedback = str({path: paths[path] for path in {op.path for op in all_operations()}})
    assert "$ref" not in feedback and "$defs" not in feedback
    assert "requestBody" not in paths["/api/reviews/sync"]["post"]


def test_every_operation_that_reads_a_body_or_query_declares_its_model() -> None:
    for op in all_operations():
        if op.method == "POST" and op.path != "/api/reviews/sync":
            assert op.body is not None, op
        if (
            "{" not in op.path
            and op.method == "GET"
            and op.path
            not in (
                "/api/datasets",
                "/api/prompts",
            )
        ):
            assert op.query is not None, op
