"""The langfuse SDK's REST API against the collector: scores into the ``scores`` table, and
``get_prompt`` served from the prompt registry (the feedback extension owns it)."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("langfuse")

from loopwise.feedback import FeedbackExtension


@pytest.fixture
def collector_extensions() -> list[Any]:
    """The prompt registry's routes, without the review sync thread."""
    return [FeedbackExtension(sync_interval_s=None)]


def post(conformance, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = conformance.http.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def test_scores_and_prompts(conformance) -> None:
    post(
        conformance,
        "/api/prompts/support-reply/versions",
        {"template": "Hi {{name}}, how can I help?", "actor": "ada", "labels": ["production"]},
    )
    post(
        conformance,
        "/api/prompts/support-reply/versions",
        {
            "template": "Hello {{name}}! What can I do for you?",
            "actor": "ada",
            "model_params": {"temperature": 0.2},
            "labels": ["staging"],
        },
    )

    spans = conformance.run("langfuse_rest")
    seen = json.loads((conformance.tmp_path / "langfuse_rest.json").read_text())

    assert seen["prompts"] == {
        "production": [1, "Hi Ada, how can I help?", ["production"]],
        "staging": [2, "Hello Ada! What can I do for you?", {"temperature": 0.2}],
        "first": [1, "Hi {{name}}, how can I help?"],
        "missing": [True, "Hello Ada"],
    }
    [root] = [span for span in spans if span["name"] == "answer"]
    assert root["trace_id"] == seen["trace_id"]
    response = conformance.http.post(
        "/api/sql",
        json={
            "sql": "SELECT name, trace_id, span_id, value, label, passed, comment, kind, "
            "source, project, metadata FROM scores ORDER BY name"
        },
    )
    assert response.status_code == 200, response.text
    payload = response.json()
    scores = {row[0]: dict(zip(payload["columns"], row, strict=True)) for row in payload["rows"]}
    assert set(scores) == {"helpful", "relevance", "tone"}
    assert {s["trace_id"] for s in scores.values()} == {seen["trace_id"]}
    assert {(s["kind"], s["source"], s["project"]) for s in scores.values()} == {
        ("code", "langfuse", root["project"])
    }
    assert (scores["helpful"]["value"], scores["helpful"]["passed"]) == (1.0, True)
    assert scores["helpful"]["span_id"] is None
    assert scores["relevance"]["span_id"] == seen["span_id"] == root["span_id"]
    assert (scores["relevance"]["value"], scores["relevance"]["comment"]) == (
        0.75,
        "mostly on topic",
    )
    assert (scores["tone"]["label"], scores["tone"]["value"]) == ("friendly", None)
    assert json.loads(scores["tone"]["metadata"])["reviewer"] == "bot"
