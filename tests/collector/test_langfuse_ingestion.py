"""``POST /api/public/ingestion``: Langfuse's batch API on a real collector (Basic auth with
the API key as the secret, as the Langfuse SDK v2 sends it), rows read back through SQL."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import uuid
from typing import Any

import httpx
import pytest

from loopwise.collector.langfuse.ids import observation_hex, root_span_hex, trace_hex
from loopwise.collector.server import CollectorConfig

API_KEY = "sk-lf-ingestion-secret"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"pk-lf-x:{API_KEY}".encode()).decode()}
EPOCH = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
MAX_BODY = 2 * 1024 * 1024
SPAN_SQL = """
SELECT * REPLACE (raw_attributes(attributes, input, output) AS attributes)
FROM spans WHERE trace_id = '{trace}' ORDER BY start_time, span_id
"""
SYSTEM = {"role": "system", "content": "Be brief."}
QUESTION = {"role": "user", "content": "What is the refund window?"}


@pytest.fixture(scope="module")
def collector_config(tmp_path_factory: pytest.TempPathFactory) -> CollectorConfig:
    return CollectorConfig(
        db_path=tmp_path_factory.mktemp("ingestion") / "t.duckdb",
        port=0,
        api_key=API_KEY,
        max_body_bytes=MAX_BODY,
    )


@pytest.fixture(scope="module")
def client(make_api):
    return make_api(headers=BASIC)


def at(seconds: float) -> str:
    """ISO time ``seconds`` after EPOCH, as the SDK writes it."""
    return (EPOCH + dt.timedelta(seconds=seconds)).isoformat()


def event(kind: str, body: Any, seconds: float, event_id: str | None = None) -> dict[str, Any]:
    """One ingestion event envelope."""
    return {
        "id": event_id or str(uuid.uuid4()),
        "timestamp": at(seconds),
        "type": kind,
        "body": body,
    }


def new_ids() -> tuple[str, str, str]:
    """Fresh Langfuse ids (UUIDs, as the SDK makes them) for a trace, a span, a generation."""
    return str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())


def sdk_batch(trace: str, span: str, generation: str) -> list[dict[str, Any]]:
    """What the SDK v2 sends for a trace with a span and a generation (created, then ended
    with output and usage), a score and an SDK log."""
    return [
        event(
            "trace-create",
            {
                "id": trace,
                "timestamp": at(0),
                "name": "support-answer",
                "userId": "user-7",
                "sessionId": "sess-42",
                "tags": ["prod", "faq"],
                "input": {"question": QUESTION["content"]},
                "metadata": {"tenant": "acme", "attempt": 2},
            },
            0,
        ),
        event(
            "span-create",
            {
                "id": span,
                "traceId": trace,
                "name": "retrieve",
                "startTime": at(0.5),
                "input": QUESTION["content"],
            },
            0.5,
        ),
        event(
            "generation-create",
            {
                "id": generation,
                "traceId": trace,
                "parentObservationId": span,
                "name": "reply",
                "startTime": at(1),
                "model": "gpt-4o-mini",
                "modelParameters": {"temperature": 0.2, "max_tokens": 200},
                "input": [SYSTEM, QUESTION],
            },
            1,
        ),
        event(
            "generation-update",
            {
                "id": generation,
                "traceId": trace,
                "endTime": at(3),
                "completionStartTime": at(1.5),
                "output": {"role": "assistant", "content": "30 days."},
                "usage": {"input": 25, "output": 6, "total": 31, "unit": "TOKENS"},
            },
            3,
        ),
        event(
            "span-update",
            {"id": span, "traceId": trace, "endTime": at(4), "output": ["doc-1", "doc-2"]},
            4,
        ),
        event(
            "score-create",
            {
                "id": str(uuid.uuid4()),
                "traceId": trace,
                "observationId": generation,
                "name": "helpful",
                "value": 1,
                "dataType": "BOOLEAN",
            },
            5,
        ),
        event("sdk-log", {"log": {"message": "flushed 6 events"}}, 5),
    ]


def ingest(client, batch: list[Any], **extra: Any) -> dict[str, Any]:
    """POST a batch; require 207 with one outcome per event; return the reply."""
    response = client.http.post(
        "/api/public/ingestion", json={"batch": batch, "metadata": {"sdk_name": "python"}}, **extra
    )
    assert response.status_code == 207, response.text
    reply = response.json()
    assert len(reply["successes"]) + len(reply["errors"]) == len(batch)
    return dict(reply)


def spans(client, trace: str) -> list[dict[str, Any]]:
    """The stored spans of a Langfuse trace id, attributes parsed."""
    rows = client.sql(SPAN_SQL.format(trace=trace_hex(trace)))
    for row in rows:
        row["attributes"] = json.loads(row["attributes"])
    return rows


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in rows}


def trace_row(client, trace: str) -> dict[str, Any]:
    [row] = client.sql(f"SELECT * FROM traces WHERE trace_id = '{trace_hex(trace)}'")
    return row


def test_an_sdk_batch_lands_as_one_readable_trace(client) -> None:
    trace, span, generation = new_ids()
    batch = sdk_batch(trace, span, generation)

    reply = ingest(client, batch)

    assert reply["errors"] == []
    assert [s["id"] for s in reply["successes"]] == [e["id"] for e in batch]
    assert {s["status"] for s in reply["successes"]} == {201}
    rows = by_name(spans(client, trace))
    assert set(rows) == {"support-answer", "retrieve", "reply"}
    root, retrieve, reply_span = rows["support-answer"], rows["retrieve"], rows["reply"]
    assert root["span_id"] == root_span_hex(trace_hex(trace))
    assert root["parent_span_id"] is None
    assert retrieve["parent_span_id"] == root["span_id"]
    assert reply_span["span_id"] == observation_hex(generation)
    assert reply_span["parent_span_id"] == retrieve["span_id"]
    assert (root["kind"], retrieve["kind"], reply_span["kind"]) == ("chain", "chain", "llm")
    assert (reply_span["model"], reply_span["provider"]) == ("gpt-4o-mini", "openai")
    assert (reply_span["input_tokens"], reply_span["output_tokens"]) == (25, 6)
    assert reply_span["total_tokens"] == 31
    assert reply_span["cost_usd"] > 0  # from the price table: the SDK sent no cost
    assert reply_span["input"] == "system: Be brief.\nuser: What is the refund window?"
    assert reply_span["output"] == "30 days."
    assert json.loads(reply_span["output_messages"]) == [
        {"role": "assistant", "content": "30 days."}
    ]
    assert json.loads(reply_span["metadata"])["model_parameters"] == {
        "temperature": 0.2,
        "max_tokens": 200,
    }
    assert retrieve["input"] == "What is the refund window?"
    assert retrieve["output"] == '["doc-1","doc-2"]'
    assert (root["session_id"], root["user_id"], root["tags"]) == (
        "sess-42",
        "user-7",
        ["prod", "faq"],
    )
    assert json.loads(root["metadata"]) == {"tenant": "acme", "attempt": 2}
    assert json.loads(root["input"]) == {"question": "What is the refund window?"}
    # Times: the generation ran 1 s → 3 s; the root spans its observations.
    assert reply_span["start_time"] == "2026-03-01T12:00:01"
    assert reply_span["end_time"] == "2026-03-01T12:00:03"
    assert (root["start_time"], root["end_time"]) == ("2026-03-01T12:00:00", "2026-03-01T12:00:04")
    # The Langfuse ids stay readable.
    assert root["attributes"]["langfuse.trace.id"] == trace
    assert reply_span["attributes"]["langfuse.observation.id"] == generation
    assert reply_span["attributes"]["langfuse.observation.parent_id"] == span
    assert json.loads(root["resource"])["langfuse.sdk.name"] == "python"

    summary = trace_row(client, trace)
    assert (summary["span_count"], summary["root_name"], summary["total_tokens"]) == (
        3,
        "support-answer",
        31,
    )
    assert (summary["session_id"], summary["user_id"]) == ("sess-42", "user-7")
    [score] = client.sql(
        "SELECT name, value, passed, span_id, project, metadata FROM scores "
        f"WHERE trace_id = '{trace_hex(trace)}'"
    )
    assert (score["name"], score["value"], score["passed"]) == ("helpful", 1.0, True)
    assert score["span_id"] == observation_hex(generation)
    assert json.loads(score["metadata"])["langfuse.traceId"] == trace
    detail = client.http.get(f"/api/traces/{trace_hex(trace)}")
    assert detail.status_code == 200, detail.text
    assert len(detail.json()["spans"]) == 3


def test_a_resent_batch_changes_nothing(client) -> None:
    trace, span, generation = new_ids()
    batch = sdk_batch(trace, span, generation)
    ingest(client, batch)
    before = (spans(client, trace), trace_row(client, trace), score_count(client, trace))

    again = ingest(client, batch)

    assert again["errors"] == []
    assert (spans(client, trace), trace_row(client, trace), score_count(client, trace)) == before
    assert len(before[0]) == 3


def score_count(client, trace: str) -> int:
    rows = client.sql(f"SELECT count(*) AS n FROM scores WHERE trace_id = '{trace_hex(trace)}'")
    return int(rows[0]["n"])


def test_an_update_in_a_later_request_updates_the_stored_span(client) -> None:
    trace, _, generation = new_ids()
    ingest(
        client,
        [
            event("trace-create", {"id": trace, "name": "later", "timestamp": at(0)}, 0),
            event(
                "generation-create",
                {
                    "id": generation,
                    "traceId": trace,
                    "name": "call",
                    "startTime": at(1),
                    "model": "gpt-4o-mini",
                    "input": "ping",
                },
                1,
            ),
        ],
    )
    assert by_name(spans(client, trace))["call"]["output"] is None

    ingest(
        client,
        [
            event(
                "generation-update",
                {
                    "id": generation,
                    "traceId": trace,
                    "endTime": at(9),
                    "output": "pong",
                    "level": "ERROR",
                    "statusMessage": "rate limited",
                    "usageDetails": {"input": 7, "output": 2},
                    "costDetails": {"total": 0.5},
                },
                9,
            )
        ],
    )

    rows = by_name(spans(client, trace))
    assert set(rows) == {"later", "call"}
    call = rows["call"]
    assert (call["input"], call["output"]) == ("ping", "pong")
    assert (call["input_tokens"], call["output_tokens"], call["cost_usd"]) == (7, 2, 0.5)
    assert (call["status"], call["status_message"]) == ("error", "rate limited")
    assert call["end_time"] == "2026-03-01T12:00:09"
    assert rows["later"]["end_time"] == "2026-03-01T12:00:09"
    summary = trace_row(client, trace)
    assert (summary["span_count"], summary["error_count"], summary["total_tokens"]) == (2, 1, 9)
    assert summary["cost_usd"] == 0.5
    assert summary["output_preview"] == "pong"


def test_an_update_before_its_create_merges_by_event_time(client) -> None:
    trace, _, generation = new_ids()
    update = event(
        "generation-update",
        {"id": generation, "traceId": trace, "output": "final", "endTime": at(5)},
        5,
    )
    ingest(client, [update])
    rows = by_name(spans(client, trace))  # the root stands in until the trace is created
    assert set(rows) == {"trace", "generation"}
    assert rows["generation"]["output"] == "final"

    create = event(
        "generation-create",
        {
            "id": generation,
            "traceId": trace,
            "name": "answer",
            "startTime": at(1),
            "output": "draft",
            "input": "question",
            "model": "gpt-4o-mini",
        },
        1,
    )
    ingest(client, [create])
    ingest(client, [event("trace-create", {"id": trace, "name": "late-trace"}, 0)])

    rows = by_name(spans(client, trace))
    assert set(rows) == {"late-trace", "answer"}
    answer = rows["answer"]
    assert (answer["input"], answer["output"], answer["model"]) == (
        "question",
        "final",
        "gpt-4o-mini",
    )
    assert (answer["start_time"], answer["end_time"]) == (
        "2026-03-01T12:00:01",
        "2026-03-01T12:00:05",
    )
    assert answer["parent_span_id"] == rows["late-trace"]["span_id"]
    assert trace_row(client, trace)["root_name"] == "late-trace"


def test_an_update_naming_no_trace_finds_its_stored_span(client) -> None:
    trace, span, _ = new_ids()
    ingest(
        client,
        [
            event(
                "span-create", {"id": span, "traceId": trace, "name": "step", "startTime": at(1)}, 1
            )
        ],
    )
    stray = str(uuid.uuid4())

    reply = ingest(
        client,
        [
            event("span-update", {"id": span, "output": "done", "endTime": at(2)}, 2),
            event("span-update", {"id": stray, "output": "lost"}, 2, event_id="stray-update"),
        ],
    )

    [error] = reply["errors"]
    assert (error["id"], error["status"]) == ("stray-update", 400)
    assert "traceId is required" in error["message"]
    assert by_name(spans(client, trace))["step"]["output"] == "done"
    assert client.count(f"span_id = '{observation_hex(stray)}'") == 0


def test_bad_events_are_reported_one_by_one_and_the_others_land(client) -> None:
    trace, span, _ = new_ids()
    good = [
        event("trace-create", {"id": trace, "name": "mixed"}, 0, event_id="good-trace"),
        event("span-create", {"id": span, "traceId": trace, "name": "ok"}, 1, event_id="good-span"),
    ]
    bad = {
        "unknown-type": event("trace-delete", {"id": trace}, 1, event_id="unknown-type"),
        "no-timestamp": {"id": "no-timestamp", "type": "span-create", "body": {"traceId": trace}},
        "numeric-trace": event("span-create", {"traceId": 7}, 1, event_id="numeric-trace"),
        "negative-usage": event(
            "generation-create",
            {"traceId": trace, "usage": {"input": -3}},
            1,
            event_id="negative-usage",
        ),
        "loud-level": event("span-create", {"traceId": trace, "level": "LOUD"}, 1, "loud-level"),
        "update-no-id": event("span-update", {"traceId": trace}, 1, event_id="update-no-id"),
        "bad-time": event("span-create", {"traceId": trace, "startTime": "noon"}, 1, "bad-time"),
        "nameless-score": event(
            "score-create", {"traceId": trace, "value": 1}, 1, "nameless-score"
        ),
    }
    reply = ingest(client, [good[0], *bad.values(), good[1], "not an event"])

    assert [s["id"] for s in reply["successes"]] == ["good-trace", "good-span"]
    errors = {error["id"]: error for error in reply["errors"]}
    assert set(errors) == {*bad, ""}
    assert {error["status"] for error in errors.values()} == {400}
    assert "unknown event type 'trace-delete'" in errors["unknown-type"]["message"]
    assert "timestamp" in errors["no-timestamp"]["message"]
    assert "body.traceId" in errors["numeric-trace"]["message"]
    assert "body.usage.input" in errors["negative-usage"]["message"]
    assert "body.level" in errors["loud-level"]["message"]
    assert "body.id is required" in errors["update-no-id"]["message"]
    assert "body.startTime" in errors["bad-time"]["message"]
    assert "name" in errors["nameless-score"]["message"]
    assert "must be an object" in errors[""]["message"]
    assert errors["numeric-trace"]["error"][0]["path"] == "body.traceId"
    assert set(by_name(spans(client, trace))) == {"mixed", "ok"}


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"batch": {}}', b'{"events": []}', b'"batch"', b"[" * 100_000],
    ids=["not-json", "an-array", "batch-not-a-list", "no-batch", "a-string", "nested-too-deep"],
)
def test_a_body_that_is_not_a_batch_is_refused_whole(client, body: bytes) -> None:
    before = client.count()
    response = client.http.post(
        "/api/public/ingestion", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "batch" in response.json()["error"]
    assert client.count() == before


def test_the_body_limit_and_gzip_are_the_otlp_receivers(client) -> None:
    trace, span, _ = new_ids()
    body = json.dumps({"batch": [event("span-create", {"id": span, "traceId": trace}, 1)]})
    zipped = client.http.post(
        "/api/public/ingestion",
        content=gzip.compress(body.encode()),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert zipped.status_code == 207, zipped.text
    assert zipped.json()["errors"] == []
    huge = {"batch": [event("span-create", {"traceId": trace, "input": "x" * MAX_BODY}, 1)]}
    response = client.http.post("/api/public/ingestion", json=huge)
    assert response.status_code == 413
    assert "limit" in response.json()["error"]


def test_the_api_key_is_required(make_api) -> None:
    trace, span, generation = new_ids()
    anonymous = make_api()
    response = anonymous.http.post(
        "/api/public/ingestion", json={"batch": sdk_batch(trace, span, generation)}
    )
    assert response.status_code == 401


def test_a_span_stored_over_otlp_is_not_overwritten(client, otlp) -> None:
    trace_id, span_id = otlp.trace_id(), otlp.span_id()
    client.export_ok(otlp.request([otlp.span("otlp-span", trace_id=trace_id, span_id=span_id)]))

    reply = ingest(
        client,
        [
            event(
                "span-update",
                {"id": span_id.hex(), "traceId": trace_id.hex(), "output": "overwritten?"},
                1,
                event_id="over-otlp",
            )
        ],
    )

    [error] = reply["errors"]
    assert (error["id"], error["status"]) == ("over-otlp", 409)
    [stored] = client.sql(f"SELECT name, output FROM spans WHERE span_id = '{span_id.hex()}'")
    assert (stored["name"], stored["output"]) == ("otlp-span", None)


def test_project_keys_scope_what_a_batch_writes(client, collector_server) -> None:
    def key(project: str) -> str:
        made = client.http.post(
            "/api/keys", json={"project": project, "role": "ingest", "name": f"{project}-app"}
        )
        assert made.status_code == 201, made.text
        return str(made.json()["token"])

    trace, span, _ = new_ids()
    with httpx.Client(base_url=collector_server.url, auth=("pk-lf-a", key("alpha"))) as alpha:
        response = alpha.post(
            "/api/public/ingestion",
            json={
                "batch": [
                    event("trace-create", {"id": trace, "name": "alpha-trace"}, 0),
                    event("span-create", {"id": span, "traceId": trace, "name": "alpha-span"}, 1),
                ]
            },
        )
        assert response.status_code == 207 and response.json()["errors"] == [], response.text
    with httpx.Client(base_url=collector_server.url, auth=("pk-lf-b", key("beta"))) as beta:
        response = beta.post(
            "/api/public/ingestion",
            json={
                "batch": [
                    event("span-update", {"id": span, "traceId": trace, "output": "beta"}, 2, "b1")
                ]
            },
        )
    assert response.status_code == 207
    [error] = response.json()["errors"]
    assert (error["id"], error["status"]) == ("b1", 409)
    rows = spans(client, trace)
    assert {row["project"] for row in rows} == {"alpha"}
    assert {row["output"] for row in rows} == {None}
