"""Normalizers: span attributes of each convention mapped into the normalized row.

Golden cases live in tests/golden/<convention>/<case>.json as
``{"attributes": {...}, "expected": {field: value}}`` (optionally ``"events": [{"name",
"attributes"}]``, the span's events); a new case is a new file, a new convention a new folder.
Each case goes through the real path: an OTLP span, ``normalize_request``, an append into a
DuckDB file, and the stored row read back. Cases under ``captured_*`` names hold payloads
recorded from real clients by tests/conformance (see its conftest.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loopwise.collector.semconv import SPAN_KINDS, normalize_request, resolve_attributes
from loopwise.collector.store import SPAN_COLUMN_NAMES, Store

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
GOLDEN_CASES = sorted(GOLDEN.glob("*/*.json"))
JSON_COLUMNS = ("metadata", "attributes", "resource", "events", "input_messages", "output_messages")
CASE_KEYS = {"description", "attributes", "events", "expected"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One DuckDB file for every case of this module (each case uses its own trace id)."""
    with Store(tmp_path_factory.mktemp("semconv") / "semconv.duckdb") as opened:
        yield opened


def store_and_read(
    store: Store, otlp, attributes: dict[str, Any], events: list[dict[str, Any]] | None = None
) -> tuple[dict[str, Any], int]:
    """Normalize one span with ``attributes`` (and ``events``), append it, and return the
    stored row (JSON columns parsed) with the number of normalization warnings."""
    trace_id = otlp.trace_id()
    span = otlp.span("case", trace_id=trace_id, attributes=attributes)
    for event in events or []:
        holder = otlp.span("event", trace_id=trace_id, attributes=event.get("attributes", {}))
        added = span.events.add(name=event["name"], time_unix_nano=span.start_time_unix_nano)
        added.attributes.extend(holder.attributes)
    batch = normalize_request(otlp.request([span]))
    assert batch.rejected == 0
    assert store.append_spans(batch.table) == 1
    [row] = store.query(
        "SELECT * REPLACE (raw_attributes(attributes, input, output) AS attributes) "
        "FROM spans WHERE trace_id = ?",
        [trace_id.hex()],
    ).records()
    for column in JSON_COLUMNS:
        if row[column] is not None:
            row[column] = json.loads(row[column])
    return row, batch.warnings


def test_text_copied_into_input_and_output_is_stored_once(store: Store, otlp) -> None:
    prompt, answer = "What is the refund window? " * 40, "Thirty days from delivery. " * 30
    attributes = {"openinference.span.kind": "LLM", "input.value": prompt, "output.value": answer}
    trace_id = otlp.trace_id()
    batch = normalize_request(
        otlp.request([otlp.span("case", trace_id=trace_id, attributes=attributes)])
    )
    store.append_spans(batch.table)
    [(stored, restored)] = store.query(
        "SELECT attributes, raw_attributes(attributes, input, output) FROM spans "
        "WHERE trace_id = ?",
        [trace_id.hex()],
    ).rows
    assert json.loads(stored)["input.value"] == {"$column": "input"}
    assert json.loads(stored)["output.value"] == {"$column": "output"}
    assert prompt not in stored
    assert json.loads(restored) == attributes


def test_there_are_golden_cases_for_each_convention() -> None:
    conventions = {path.parent.name for path in GOLDEN_CASES}
    assert {"genai", "openinference", "langfuse", "openllmetry", "vercel", "mlflow"} <= conventions
    assert {"logfire", "mixed"} <= conventions
    # A payload captured from each real client (tests/conformance) is kept as a golden case.
    captured = {path.parent.name for path in GOLDEN_CASES if path.stem.startswith("captured_")}
    assert {"genai", "openinference", "langfuse", "openllmetry", "logfire"} <= captured
    assert len(GOLDEN_CASES) >= 100


@pytest.mark.parametrize(
    "case_path", GOLDEN_CASES, ids=[f"{p.parent.name}/{p.stem}" for p in GOLDEN_CASES]
)
def test_golden_case(store: Store, otlp, case_path: Path) -> None:
    case = json.loads(case_path.read_text())
    assert set(case) <= CASE_KEYS, case_path
    unknown = set(case["expected"]) - set(SPAN_COLUMN_NAMES)
    assert not unknown, f"{case_path.name}: expected names no column: {unknown}"

    row, _ = store_and_read(store, otlp, case["attributes"], case.get("events"))

    actual = {field: row[field] for field in case["expected"]}
    assert actual == case["expected"]
    assert row["kind"] in SPAN_KINDS
    # The raw attributes are always kept, whatever the normalizers made of them.
    assert row["attributes"] == case["attributes"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("gen_ai.usage.input_tokens", float("inf")),
        ("gen_ai.usage.input_tokens", float("nan")),
        ("gen_ai.usage.input_tokens", True),
        ("llm.token_count.prompt", -1),
        ("llm.token_count.prompt", 2**63 - 1 + 0.0),
        ("llm.token_count.prompt", [1, 2]),
        ("llm.token_count.prompt", {"n": 1}),
        ("llm.cost.total", float("inf")),
        ("llm.cost.total", float("nan")),
        ("llm.cost.total", "1e400"),
        ("llm.cost.total", "free"),
    ],
)
def test_unreadable_numbers_are_null_and_noted(store: Store, otlp, key: str, value: object) -> None:
    row, warnings = store_and_read(store, otlp, {key: value})

    field = "cost_usd" if key == "llm.cost.total" else "input_tokens"
    assert row[field] is None
    assert warnings == 1
    assert key in row["attributes"]


def test_nan_attributes_are_stored_as_strict_json(store: Store, otlp) -> None:
    trace_id = otlp.trace_id()
    request = otlp.request(
        [otlp.span("nan", trace_id=trace_id, attributes={"score": float("nan"), "ok": 1.5})]
    )
    store.append_spans(normalize_request(request).table)
    [(text,)] = store.query(
        "SELECT attributes FROM spans WHERE trace_id = ?", [trace_id.hex()]
    ).rows

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON: {text}")

    assert json.loads(text, parse_constant=refuse) == {"score": None, "ok": 1.5}


@pytest.mark.parametrize("depth", [300, 5000])
def test_deeply_nested_metadata_is_stored(store: Store, otlp, depth: int) -> None:
    metadata = '{"a":' * depth + "1" + "}" * depth

    row, _ = store_and_read(store, otlp, {"metadata": metadata, "user.id": "deep"})

    assert row["user_id"] == "deep"
    assert row["attributes"]["metadata"] == metadata


def test_metadata_with_an_integer_beyond_64_bits_is_stored(store: Store, otlp) -> None:
    row, _ = store_and_read(store, otlp, {"metadata": '{"n": 123456789012345678901234567890}'})
    assert row["metadata"] == {"n": 123456789012345678901234567890}


def test_many_flattened_messages_and_odd_keys(store: Store, otlp) -> None:
    attributes: dict[str, Any] = {
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "first",
        "llm.input_messages.0.message": "shadowed by the keys below it",
        "llm.input_messages.x.message.content": "not an index",
        "llm.input_messages.": "empty tail",
    }
    row, _ = store_and_read(store, otlp, attributes)
    assert row["attributes"] == attributes


def test_values_of_every_otlp_type_are_kept_raw(store: Store, otlp) -> None:
    attributes = {
        "s": "text",
        "i": -7,
        "d": 2.5,
        "b": False,
        "list": ["a", 1, True],
        "map": {"k": "v", "n": {"deep": [1, 2]}},
        "bytes": b"\x00\xff",
        "unicode": "日本語 \u0000 nul",
    }
    row, _ = store_and_read(store, otlp, attributes)
    assert row["attributes"] == {**attributes, "bytes": "00ff"}


def test_resolve_attributes_alone() -> None:
    resolved = resolve_attributes(
        {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 2, "session.id": "s"}
    )
    assert (resolved.kind, resolved.input_tokens, resolved.total_tokens) == ("llm", 2, 2)
    assert resolved.session_id == "s"
    assert resolved.warnings == []
