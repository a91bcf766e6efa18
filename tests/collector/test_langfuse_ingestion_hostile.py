"""``POST /api/public/ingestion`` under hostile input: huge, deeply nested and non-text
ids, every field of the wrong type, lone surrogates, times out of range, arbitrary JSON.
The properties: the collector answers 207 with one outcome per event, or a 400 for a body
that is no batch, never a 5xx; ``/health`` still answers; valid events beside hostile ones
still land."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopwise.collector.langfuse.ids import trace_hex
from loopwise.collector.server import CollectorConfig

API_KEY = "sk-lf-hostile-secret"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"pk-lf-x:{API_KEY}".encode()).decode()}
NOW = "2026-03-01T12:00:00Z"
TYPES = [
    "trace-create",
    "span-create",
    "span-update",
    "generation-create",
    "generation-update",
    "event-create",
    "observation-create",
    "observation-update",
    "score-create",
    "sdk-log",
]
QUICK = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def collector_config(tmp_path_factory: pytest.TempPathFactory) -> CollectorConfig:
    return CollectorConfig(
        db_path=tmp_path_factory.mktemp("ingestion-hostile") / "t.duckdb",
        port=0,
        api_key=API_KEY,
        max_body_bytes=4 * 1024 * 1024,
    )


@pytest.fixture(scope="module")
def client(make_api):
    return make_api(headers=BASIC)


def post(client, body: Any) -> dict[str, Any]:
    """POST a batch (NaN and Infinity written as Python's JSON writes them, lone surrogates
    as escapes); require 207 with one outcome per event and a healthy collector."""
    response = client.http.post(
        "/api/public/ingestion",
        content=json.dumps({"batch": body}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 207, response.text
    reply = response.json()
    assert len(reply["successes"]) + len(reply["errors"]) == len(body)
    assert all(error["status"] in (400, 409) and error["message"] for error in reply["errors"])
    assert client.healthy()
    return dict(reply)


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def hostile_events(trace: str) -> list[Any]:
    """Events no SDK sends, each refused or stored without harm."""
    long_id = "x" * 20_000
    return [
        {"id": long_id, "timestamp": NOW, "type": "span-create", "body": {"traceId": trace}},
        {"id": "e", "timestamp": NOW, "type": "span-create", "body": {"id": long_id}},
        {"id": 12, "timestamp": NOW, "type": "trace-create", "body": {"id": trace}},
        {"id": ["a"], "timestamp": NOW, "type": "trace-create", "body": {}},
        {"id": {"x": 1}, "timestamp": NOW, "type": "trace-create", "body": {}},
        {"id": "e", "timestamp": NOW, "type": "span-create", "body": {"id": ["list"]}},
        {"id": "e", "timestamp": NOW, "type": "span-create", "body": {"traceId": {"x": 1}}},
        {"id": "e", "timestamp": NOW, "type": "span-create", "body": None},
        {"id": "e", "timestamp": NOW, "type": "span-create", "body": "text"},
        {"id": "e", "timestamp": NOW, "type": "span-create"},
        {"id": "e", "timestamp": NOW, "type": None, "body": {}},
        {"id": "e", "timestamp": NOW, "type": ["span-create"], "body": {}},
        {"id": "e", "timestamp": 12, "type": "span-create", "body": {"traceId": trace}},
        {"id": "e", "timestamp": "0001-01-01T00:00:00Z", "type": "span-create", "body": {}},
        {"id": "e", "timestamp": "9999-12-31T23:59:59Z", "type": "span-create", "body": {}},
        {"id": "e", "timestamp": "yesterday", "type": "span-create", "body": {}},
        {"id": "e", "timestamp": "9999-12-31T23:00:00-05:00", "type": "span-create", "body": {}},
        {"id": "e", "timestamp": NOW, "type": "span-create", "body": {"startTime": 1.5e9}},
        {"id": "e\r", "timestamp": NOW, "type": "span-create", "body": {}},
        {"id": "surrogate", "timestamp": NOW, "type": "span-create", "body": {"name": "\ud800"}},
        {"id": "\udfff", "timestamp": NOW, "type": "span-create", "body": {"traceId": trace}},
        {
            "id": "wrong-types",
            "timestamp": NOW,
            "type": "generation-create",
            "body": {
                "traceId": trace,
                "name": 5,
                "startTime": [],
                "endTime": {},
                "model": 3.5,
                "modelParameters": "hot",
                "usage": "many",
                "usageDetails": {"input": "seven"},
                "costDetails": {"total": "free"},
                "level": 1,
                "promptVersion": "v1",
                "tags": "not-a-trace-field",
            },
        },
        {
            "id": "wrong-trace-types",
            "timestamp": NOW,
            "type": "trace-create",
            "body": {"id": trace, "tags": [1, None], "public": "yes", "userId": 7},
        },
        {
            "id": "big-numbers",
            "timestamp": NOW,
            "type": "generation-create",
            "body": {
                "traceId": trace,
                "usage": {"input": 10**30, "output": -1},
                "costDetails": {"total": 1e308 * 10},
            },
        },
        {
            "id": "score-wrong",
            "timestamp": NOW,
            "type": "score-create",
            "body": {"traceId": ["t"], "name": {}, "value": []},
        },
        {"id": "score-body", "timestamp": NOW, "type": "score-create", "body": [1, 2]},
        {"id": "log", "timestamp": NOW, "type": "sdk-log", "body": nested(50)},
        "a string",
        12,
        None,
        [],
    ]


def test_hostile_events_never_crash_and_good_ones_still_land(client) -> None:
    trace = str(uuid.uuid4())
    good = {
        "id": "good",
        "timestamp": NOW,
        "type": "span-create",
        "body": {"id": str(uuid.uuid4()), "traceId": trace, "name": "fine", "input": nested(60)},
    }
    self_parent = str(uuid.uuid4())
    odd_but_valid = [
        {
            "id": "self-parent",
            "timestamp": NOW,
            "type": "span-create",
            "body": {"id": self_parent, "traceId": trace, "parentObservationId": self_parent},
        },
        {
            "id": "many-metadata",
            "timestamp": NOW,
            "type": "event-create",
            "body": {"traceId": trace, "metadata": {f"k{i}": i for i in range(5000)}},
        },
        {
            "id": "huge-input",
            "timestamp": NOW,
            "type": "span-create",
            "body": {"traceId": trace, "input": "y" * 1_000_000, "output": [None, 1.5, True]},
        },
    ]
    odd_but_valid.append(
        {
            "id": "far-future",
            "timestamp": "9999-12-31T23:59:59.999999Z",
            "type": "span-create",
            "body": {"traceId": trace, "startTime": "9999-12-31T23:59:59Z"},
        }
    )
    events = [good, *hostile_events(trace), *odd_but_valid]

    reply = post(client, events)

    landed = {success["id"] for success in reply["successes"]}
    assert {"good", "self-parent", "many-metadata", "huge-input", "far-future", "log"} <= landed
    errors = {error["id"] for error in reply["errors"]}
    assert {"wrong-types", "wrong-trace-types", "big-numbers", "surrogate", "score-wrong"} <= errors
    rows = client.sql(
        "SELECT name, parent_span_id, length(input) AS chars FROM spans "
        f"WHERE trace_id = '{trace_hex(trace)}' ORDER BY name"
    )
    names = {row["name"] for row in rows}
    assert {"fine", "trace", "span", "event"} <= names
    [huge] = [row for row in rows if row["chars"] == 1_000_000]
    assert huge["parent_span_id"] is not None


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["\ud800", "x" * 2000, "2026-03-01T12:00:00Z", "ERROR", "GENERATION"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["id", "traceId", "name", "input", "usage", "value", "metadata", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
BODY_KEYS = [
    "id",
    "traceId",
    "parentObservationId",
    "name",
    "startTime",
    "endTime",
    "input",
    "output",
    "metadata",
    "model",
    "usage",
    "usageDetails",
    "costDetails",
    "level",
    "type",
    "value",
    "tags",
    "observationId",
    "log",
]


@st.composite
def events(draw: st.DrawFn) -> Any:
    """An event close to a real one, with any field possibly of any type."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    body = draw(st.dictionaries(st.sampled_from(BODY_KEYS), json_values, max_size=6))
    return {
        "id": draw(st.text(min_size=1, max_size=20) | json_values),
        "timestamp": draw(st.sampled_from([NOW, "2026-03-01T12:00:01.5+02:00"]) | json_values),
        "type": draw(st.sampled_from(TYPES) | json_values),
        "body": body if draw(st.booleans()) else draw(json_values),
    }


@QUICK
@given(batch=st.lists(events(), max_size=8))
def test_arbitrary_events_get_an_outcome_each(client, batch: list[Any]) -> None:
    post(client, batch)
