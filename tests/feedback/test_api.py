"""The feedback API served by a real collector: status codes, error bodies, bad input that
changes nothing, and the same answers through the HTTP and the local backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from loopwise.collector.server import CollectorServer
from loopwise.feedback import Conflict, FeedbackError, HttpBackend, LocalBackend, NotFound


def post(server: CollectorServer, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
    return httpx.post(server.url + path, json=body, timeout=30, **kwargs)


def test_review_flow_over_http(collector: CollectorServer, spans: Any) -> None:
    response = post(
        collector,
        "/api/reviews",
        {"trace_id": spans.trace1, "span_id": spans.answer1, "actor": "ana"},
    )
    assert response.status_code == 201, response.text
    item = response.json()
    path = f"/api/reviews/{item['item_id']}/actions"
    ok = post(
        collector,
        path,
        {
            "action": "correct",
            "actor": "bo",
            "expected_version": 1,
            "corrected_output": "fixed",
            "comment": "why",
            "verdicts": {"judge": "fail"},
        },
    )
    assert ok.status_code == 200, ok.text
    assert (ok.json()["state"], ok.json()["version"]) == ("corrected", 2)
    stale = post(collector, path, {"action": "reopen", "actor": "cy", "expected_version": 1})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert "someone acted on it meanwhile" in stale.json()["error"]
    detail = httpx.get(collector.url + f"/api/reviews/{item['item_id']}").json()
    assert [e["action"] for e in detail["events"]] == ["open", "correct"]
    assert detail["corrections"][0]["corrected_output"] == "fixed"
    listed = httpx.get(collector.url + "/api/reviews", params={"state": "corrected"}).json()
    assert [i["item_id"] for i in listed["items"]] == [item["item_id"]]
    corrections = httpx.get(collector.url + "/api/reviews/corrections").json()["corrections"]
    assert [c["item_id"] for c in corrections] == [item["item_id"]]
    calibration = httpx.get(collector.url + "/api/calibration").json()
    assert calibration == {"evaluators": [], "reviewers": []}  # one reviewer, no judge scores yet


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/api/reviews", None, 400, "must be a JSON object"),
        ("/api/reviews", [1, 2], 400, "must be a JSON object"),
        ("/api/reviews", {"trace_id": "0" * 32, "actor": "a"}, 404, "no trace"),
        ("/api/reviews", {"trace_id": "zz", "actor": "a"}, 400, "32 hex"),
        ("/api/reviews/rev_missing/actions", {"action": "approve", "actor": "a"}, 404, "no review"),
        (
            "/api/datasets",
            {"name": "d", "actor": "a", "examples": [{"x": 1}]},
            400,
            "needs an input",
        ),
        (
            "/api/datasets",
            {"name": "d", "actor": "a", "from_sql": "DROP TABLE spans"},
            400,
            "SELECT",
        ),
        (
            "/api/datasets/missing/versions",
            {"actor": "a", "examples": [{"input": 1}]},
            404,
            "no dataset",
        ),
        ("/api/prompts/p/versions", {"template": "", "actor": "a"}, 400, "template is required"),
        (
            "/api/prompts/p/labels",
            {"label": "production", "version": 1, "actor": "a"},
            404,
            "no prompt",
        ),
        ("/api/prompts/p/proposals", {"actor": "a"}, 404, "no prompt"),
        ("/api/datasets/snapshot", {"manifest": {}}, 400, "unknown dataset format"),
    ],
)
def test_bad_requests_get_clear_errors(
    shared_collector: CollectorServer, sql: Any, path: str, body: Any, status: int, message: str
) -> None:
    tables = ("review_items", "review_events", "dataset_versions", "prompt_versions", "spans")
    count = "SELECT count(*) AS n FROM {}"
    before = [sql(shared_collector, count.format(t))[0]["n"] for t in tables]
    response = post(shared_collector, path, body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    assert [sql(shared_collector, count.format(t))[0]["n"] for t in tables] == before


def test_garbage_never_hurts_the_collector(shared_collector: CollectorServer) -> None:
    url = shared_collector.url
    nested = b'{"name": "d", "actor": "a", "examples": [{"input": ' + b"[" * 50_000
    bodies = (b"{not json", b"\xff\xfe", b"[" * 10_000, b'"just a string"', nested)
    for content in bodies:
        response = httpx.post(url + "/api/datasets", content=content, timeout=30)
        assert response.status_code == 400, (content[:20], response.text)
    assert httpx.get(url + "/api/reviews", params={"limit": "lots"}).status_code == 400
    assert httpx.get(url + "/api/reviews", params={"offset": "-3"}).status_code == 400
    assert httpx.get(url + "/health").json()["status"] == "ok"


def test_datasets_and_prompts_over_http(api: HttpBackend, spans: Any) -> None:
    created = api.call(
        "POST",
        "/api/datasets",
        body={"name": "answers", "actor": "ana", "from_spans": {"where": "name = 'answer'"}},
    )
    assert (created["version"], created["example_count"]) == (1, 2)
    with pytest.raises(Conflict):
        api.call(
            "POST",
            "/api/datasets/answers/versions",
            body={"actor": "bo", "expected_version": 0, "examples": [{"input": "x"}]},
        )
    with pytest.raises(FeedbackError, match="duplicate"):
        api.call(
            "POST",
            "/api/datasets/answers/versions",
            body={"actor": "bo", "from_spans": {"where": "name = 'answer'"}},
        )
    changed = api.call(
        "POST",
        "/api/datasets/answers/versions",
        body={
            "actor": "bo",
            "expected_version": 1,
            "examples": [{"input": "new", "expected": "y"}],
        },
    )
    assert changed["version"] == 2
    diff = api.call("GET", "/api/datasets/answers/diff")
    assert (diff["from_version"], diff["to_version"], len(diff["added"])) == (1, 2, 1)
    snapshot = api.call("GET", "/api/datasets/answers/snapshot")
    assert api.call("POST", "/api/datasets/snapshot", body=snapshot)["restored"] == []
    version = api.call(
        "POST",
        "/api/prompts/reply/versions",
        body={"template": "Hi {{question}}", "actor": "ana", "labels": ["production"]},
    )
    assert version["version"] == 1
    assert api.call("GET", "/api/prompts/reply", query={"label": "production"})["version"] == 1
    with pytest.raises(NotFound):
        api.call("GET", "/api/prompts/reply", query={"label": "staging"})
    scores = api.call("GET", "/api/prompts/reply/scores")
    assert scores == {"name": "reply", "scores": []}


def test_local_backend_answers_like_the_api(api: HttpBackend, db_path: Path, spans: Any) -> None:
    local = LocalBackend(db_path)
    try:
        for backend in (api, local):
            backend.call(
                "POST",
                "/api/prompts/reply/versions",
                body={"template": "Hi {{question}}", "actor": "ana"},
            )
            backend.call(
                "POST",
                "/api/reviews",
                body={"trace_id": spans.trace1, "span_id": spans.answer1, "actor": "ana"},
            )
        remote = api.call("GET", "/api/prompts/reply/versions")["versions"][0]
        mine = local.call("GET", "/api/prompts/reply/versions")["versions"][0]
        assert remote.keys() == mine.keys()
        assert {k: v for k, v in remote.items() if k != "created_at"} == {
            k: v for k, v in mine.items() if k != "created_at"
        }
        remote_item = api.call("GET", "/api/reviews")["items"][0]
        local_item = local.call("GET", "/api/reviews")["items"][0]
        assert remote_item.keys() == local_item.keys()
        assert (remote_item["span_name"], local_item["span_name"]) == ("answer", "answer")
        with pytest.raises(NotFound):
            local.call("GET", "/api/nothing")
    finally:
        local.close()
