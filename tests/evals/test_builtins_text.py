"""Built-ins on structure and text: JSON, JSON Schema, regex, contains, exact match, length,
similarity to a reference, and the operational thresholds."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest

from loopwise.collector.store import SPAN_ARROW_SCHEMA
from loopwise.evals import default_registry, evaluate

Records = list[dict[str, Any]]


def run(name: str, table: pa.Table, **params: Any) -> Records:
    return evaluate(default_registry().create(name, params), table).records()


def passed(records: Records) -> list[bool | None]:
    return [r["passed"] for r in records]


def test_valid_json_on_the_demo_classifications(demo_rows: Records) -> None:
    classify = [r for r in demo_rows if r["name"] == "classify" and r["output"]]
    records = run("valid_json", pa.Table.from_pylist(classify, schema=SPAN_ARROW_SCHEMA))
    by_span = {r["span_id"]: r for r in records}
    injected = 0
    for row in classify:
        broken = "invalid_json" in json.loads(row["metadata"])["injected_faults"]
        injected += broken
        assert by_span[row["span_id"]]["passed"] is (not broken), row["output"]
    assert injected > 0


@pytest.mark.parametrize(
    ("output", "hint"),
    [
        ('{"category": "refund", "prio', "truncated"),
        ('Sure! Here is the classification:\n{"category": "refund"}\nAnything else?', "prose"),
        ('```json\n{"category": "refund"}\n```', "code fence"),
        ("{'category': 'refund', 'priority': 'high'}", "single quotes"),
        ('{"category": "refund",}', "trailing comma"),
    ],
)
def test_valid_json_explains_typical_breakage(spans: Any, output: str, hint: str) -> None:
    [record] = run("valid_json", spans.outputs(output))
    assert record["passed"] is False and hint in record["explanation"]


def test_valid_json_only_when_requested_and_shape(spans: Any) -> None:
    table = spans.table(
        [
            spans.row(input="Answer with JSON only", output="not json"),
            spans.row(input="Write a friendly email", output="Hi there"),
            spans.row(input="Return JSON", output="[1, 2]"),
        ]
    )
    records = run("valid_json", table, only_when_requested=True)
    assert [r["row"] for r in records] == [0, 2] and passed(records) == [False, True]
    assert passed(run("valid_json", table.slice(2), require="object")) == [False]
    with pytest.raises(ValueError, match="require must be"):
        default_registry().create("valid_json", {"require": "dict"})


def test_json_schema(spans: Any) -> None:
    schema = {
        "type": "object",
        "properties": {
            "category": {"enum": ["refund", "shipping"]},
            "priority": {"type": "string"},
        },
        "required": ["category", "priority"],
    }
    table = spans.outputs(
        '{"category": "refund", "priority": "high"}',
        '{"category": "refund"}',
        '{"category": "pets", "priority": "low"}',
        "nope",
    )
    records = run("json_schema", table, schema=schema)
    assert passed(records) == [True, False, False, False]
    assert "'priority' is a required property" in records[1]["explanation"]
    assert "schema violation at category" in records[2]["explanation"]
    assert "not valid JSON" in records[3]["explanation"]
    with pytest.raises(ValueError, match="invalid JSON Schema"):
        default_registry().create("json_schema", {"schema": {"type": "nonsense"}})


def test_regex_and_contains(spans: Any) -> None:
    table = spans.outputs("Your order ORD-10234 ships today", "No order number here", None)
    assert passed(run("regex", table, pattern=r"ORD-\d{5}")) == [True, False]
    assert passed(run("regex", table, pattern=r"(?i)order", must_match=False)) == [False, False]
    records = run("contains", table, text=["ships", "today"], mode="all")
    assert (
        passed(records) == [True, False] and "missing 'ships', 'today'" in records[1]["explanation"]
    )
    assert passed(run("contains", table, text="ORDER", case_sensitive=True)) == [False, False]
    assert passed(run("contains", table, text="ships", negate=True)) == [False, True]


def test_exact_match_uses_the_reference(spans: Any) -> None:
    table = spans.table(
        [
            spans.row(
                output="  Refund  ISSUED ", metadata=json.dumps({"reference": "refund issued"})
            ),
            spans.row(output="refund denied", metadata=json.dumps({"expected": "refund issued"})),
            spans.row(output="no reference"),
        ]
    )
    records = run("exact_match", table)
    assert [r["row"] for r in records] == [0, 1] and passed(records) == [True, False]
    assert passed(run("exact_match", table.slice(0, 1), normalize=False)) == [False]


def test_length_bounds(spans: Any) -> None:
    table = spans.outputs("short", "a much longer answer than allowed", "")
    records = run("length_bounds", table, max_length=10)
    assert passed(records) == [True, False, True]
    assert records[1]["explanation"] == "length 33 chars is outside [None, 10]"
    assert passed(run("length_bounds", table, min_length=2, unit="words")) == [False, True, False]
    with pytest.raises(ValueError, match="above max_length"):
        default_registry().create("length_bounds", {"min_length": 5, "max_length": 1})


def test_similarity_to_a_reference(spans: Any) -> None:
    reference = (
        "Refunds are issued within 5-7 business days after the return reaches the warehouse."
    )
    close = "Your refund is issued within 5-7 business days after the return reaches our warehouse."
    unrelated = "Please reset your password using the link on the sign-in page."
    table = spans.table(
        [
            spans.row(output=o, metadata=json.dumps({"reference": reference}))
            for o in (close, unrelated)
        ]
    )
    for name in ("token_f1", "rouge_l", "tfidf_similarity"):
        records = run(name, table, threshold=0.5)
        values = [r["value"] for r in records]
        assert values[0] > 0.5 > 0.2 > values[1], (name, values)
        assert passed(records) == [True, False]
    exact = spans.table(
        [spans.row(output=reference, metadata=json.dumps({"reference": reference}))]
    )
    assert [r["value"] for r in run("rouge_l", exact)] == [pytest.approx(1.0)]
    with pytest.raises(ValueError, match="threshold must be within"):
        default_registry().create("token_f1", {"threshold": 2})


def test_operational_thresholds_and_error_status(spans: Any) -> None:
    table = spans.table(
        [
            spans.row(duration_ms=120.0, total_tokens=900, cost_usd=0.002),
            spans.row(
                duration_ms=2500.0,
                total_tokens=4000,
                cost_usd=0.05,
                status="error",
                status_message="upstream 503: service unavailable",
            ),
            spans.row(total_tokens=None, cost_usd=None),
        ]
    )
    latency = run("latency_threshold", table, max_ms=1000)
    assert passed(latency) == [True, False, True]
    assert latency[1]["explanation"] == "duration 2,500 ms exceeds 1,000 ms"
    assert [r["row"] for r in run("token_threshold", table, max_tokens=1000)] == [0, 1]
    assert passed(run("cost_threshold", table, max_usd=0.01)) == [True, False]
    errors = run("error_status", table)
    assert passed(errors) == [True, False, True]
    assert errors[1]["label"] == "error" and "upstream 503" in errors[1]["explanation"]
    with pytest.raises(ValueError, match="positive number"):
        default_registry().create("latency_threshold", {"max_ms": -1})
