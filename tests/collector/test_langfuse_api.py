"""``POST /api/public/scores``: Langfuse's score API on a real collector (Basic auth with the
API key as the secret, as Langfuse clients send it); rows read back through the SQL API."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from loopwise.collector.server import CollectorConfig

API_KEY = "sk-lf-test-secret"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"pk-lf-x:{API_KEY}".encode()).decode()}


@pytest.fixture(scope="module")
def collector_config(tmp_path_factory: pytest.TempPathFactory) -> CollectorConfig:
    return CollectorConfig(
        db_path=tmp_path_factory.mktemp("langfuse") / "t.duckdb", port=0, api_key=API_KEY
    )


@pytest.fixture(scope="module")
def client(make_api):
    return make_api(headers=BASIC)


def scores(client, trace_id: str) -> list[dict[str, Any]]:
    return client.sql(
        "SELECT score_id, name, value, label, passed, explanation, span_id, project, metadata "
        f"FROM scores WHERE trace_id = '{trace_id}' ORDER BY name"
    )


def test_a_batch_with_a_bad_score_stores_the_others(client, otlp) -> None:
    trace_id = otlp.trace_id().hex()
    batch = [
        {"id": "s1", "traceId": trace_id, "name": "accuracy", "value": 0.9},
        {"id": "s2", "traceId": trace_id, "name": "notes", "value": "fine", "dataType": "TEXT"},
        {"id": "s3", "traceId": 12345, "name": "broken", "value": 1},
        {"id": "s4", "sessionId": "sess-1", "name": "session-only", "value": 1},
        {"id": "s5", "traceId": trace_id, "name": "flag", "value": 3, "dataType": "BOOLEAN"},
    ]
    response = client.http.post("/api/public/scores", json=batch)

    assert response.status_code == 207
    reply = response.json()
    assert (reply["accepted"], reply["rejected"]) == (2, 3)
    messages = " ".join(error["message"] for error in reply["errors"])
    assert "traceId must be non-empty text" in messages
    assert "traceId is required" in messages
    assert "BOOLEAN value must be 0 or 1" in messages
    stored = scores(client, trace_id)
    assert [(s["name"], s["value"], s["explanation"]) for s in stored] == [
        ("accuracy", 0.9, None),
        ("notes", None, "fine"),
    ]
    assert {s["project"] for s in stored} == {"default"}  # the trace is not stored (yet)


def test_resent_scores_are_stored_once(client, otlp) -> None:
    trace_id = otlp.trace_id().hex()
    body = [{"id": "once-1", "traceId": trace_id, "name": "helpful", "value": 1.0}]
    for _ in range(2):
        response = client.http.post("/api/public/scores", json=body)
        assert response.status_code == 202
        assert response.json() == {"message": "Accepted"}
    assert len(scores(client, trace_id)) == 1


def test_the_traces_project_is_used(client, otlp) -> None:
    trace_id = otlp.trace_id()
    client.export_ok(otlp.request([otlp.span("root", trace_id=trace_id)], project="shop"))
    response = client.http.post(
        "/api/public/scores",
        json={"traceId": trace_id.hex(), "name": "tone", "value": "warm"},
    )
    assert response.status_code == 202
    [stored] = scores(client, trace_id.hex())
    assert (stored["project"], stored["label"]) == ("shop", "warm")


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b"[1, 2]", b'"text"'],
    ids=["not-json", "empty", "not-objects", "a-string"],
)
def test_bad_bodies_are_refused(client, body: bytes) -> None:
    before = int(client.sql("SELECT count(*) AS n FROM scores")[0]["n"])
    response = client.http.post(
        "/api/public/scores", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]
    assert int(client.sql("SELECT count(*) AS n FROM scores")[0]["n"]) == before


def test_the_api_key_is_required(make_api, otlp) -> None:
    anonymous = make_api()
    body = [{"traceId": otlp.trace_id().hex(), "name": "x", "value": 1}]
    assert anonymous.http.post("/api/public/scores", json=body).status_code == 401


def test_a_score_on_a_v2_trace_id_lands_where_ingestion_put_that_trace(client) -> None:
    from loopwise.collector.langfuse.ids import observation_hex, trace_hex

    batch = [
        {
            "id": "v2-score",
            "traceId": "3f0e6c1e-trace-of-a-v2-sdk",
            "observationId": "gen-1",
            "name": "helpful",
            "value": 1,
        }
    ]
    assert client.http.post("/api/public/scores", json=batch).status_code == 202

    stored = scores(client, trace_hex("3f0e6c1e-trace-of-a-v2-sdk"))
    assert [(s["name"], s["span_id"]) for s in stored] == [("helpful", observation_hex("gen-1"))]
    assert '"langfuse.traceId": "3f0e6c1e-trace-of-a-v2-sdk"' in stored[0]["metadata"]
