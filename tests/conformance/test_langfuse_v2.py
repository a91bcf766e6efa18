"""The Langfuse SDK v2 (``langfuse<3``) with the collector as its host: its batches to
``POST /api/public/ingestion`` land as traces with parent links, model calls with tokens and
cost, and scores.

The test environment holds the current langfuse (5.x, over OTLP), which v2 cannot sit
beside, so v2 is installed on its own into a folder of the test run (``pip install
--no-deps --target``; its dependencies, httpx, pydantic, backoff, wrapt and packaging, are
the environment's) and put first on the client's path. Where pip cannot fetch it the test
is skipped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loopwise.collector.langfuse.ids import observation_hex, trace_hex

from .conftest import install_apart

LANGFUSE_V2 = "2.60.10"


@pytest.fixture(scope="session")
def langfuse_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the ``langfuse`` package of the SDK v2."""
    target = tmp_path_factory.mktemp("langfuse-v2")
    return install_apart(target, f"langfuse=={LANGFUSE_V2}", "langfuse")


def scores(conformance) -> list[dict[str, Any]]:
    response = conformance.http.post(
        "/api/sql", json={"sql": "SELECT name, value, trace_id, span_id FROM scores"}
    )
    assert response.status_code == 200, response.text
    payload = response.json()
    return [dict(zip(payload["columns"], row, strict=True)) for row in payload["rows"]]


def test_langfuse_v2_batches_land_as_traces(conformance, expect, langfuse_v2) -> None:
    spans = conformance.run("langfuse_v2", python_path=[langfuse_v2])
    seen = json.loads((conformance.tmp_path / "langfuse_v2.json").read_text())
    question = conformance.scenario["QUESTION"]

    # @observe around the SDK's OpenAI integration: the trace, and the generation under it.
    decorated = trace_hex(seen["decorated_trace_id"])
    root = expect.one(spans, trace_id=decorated, name="answer")
    reply = expect.one(spans, trace_id=decorated, name="reply")
    expect.child_of(reply, root)
    expect.chat(reply, question)
    expect.session(root)
    assert root["kind"] == "chain"
    assert root["output"] == question == seen["answer"]
    assert root["tags"] == ["conformance"]
    assert root["metadata"] == {"suite": "v2"}
    assert reply["attributes"]["langfuse.trace.id"] == seen["decorated_trace_id"]
    assert reply["resource"]["langfuse.sdk.name"] == "python"

    # The low-level client: trace, span, generation ended with usage, event, score.
    manual = trace_hex(seen["manual_trace_id"])
    trace = expect.one(spans, trace_id=manual, name="manual")
    retrieve = expect.one(spans, trace_id=manual, name="retrieve")
    draft = expect.one(spans, trace_id=manual, name="draft")
    miss = expect.one(spans, trace_id=manual, name="cache-miss")
    expect.child_of(retrieve, trace)
    expect.child_of(miss, trace)
    assert draft["parent_span_id"] == retrieve["span_id"] == observation_hex(seen["span_id"])
    assert draft["span_id"] == observation_hex(seen["generation_id"])
    expect.session(trace)
    assert json.loads(trace["input"]) == {"q": question}
    assert trace["output"] == "the final answer"  # from trace.update(), a later event
    assert (retrieve["input"], json.loads(retrieve["output"])) == (question, ["doc-1", "doc-2"])
    assert (draft["kind"], draft["model"], draft["output"]) == ("llm", "gpt-4o-mini", "a draft")
    assert (draft["input_tokens"], draft["output_tokens"], draft["total_tokens"]) == (12, 3, 15)
    assert draft["cost_usd"] == pytest.approx(expect.prices.cost("gpt-4o-mini", 12, 3))
    assert (miss["kind"], miss["metadata"]) == ("other", {"key": "faq"})
    assert {span["trace_id"] for span in spans} == {decorated, manual}
    assert [(s["name"], s["value"], s["trace_id"]) for s in scores(conformance)] == [
        ("helpful", 1.0, manual)
    ]
