"""Normalization on the ingest path: bad input and absurd sizes never fail a batch and are
counted; copied text is stored once for every convention; the price table can be overridden;
databases made before the new span columns are migrated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from loopwise.collector.pricing import PriceTableError
from loopwise.collector.semconv import normalize_request
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import MIGRATIONS, SPAN_COLUMN_NAMES, Store, migrate


def one_row(api, trace_id: bytes) -> dict[str, Any]:
    """The stored span of a one-span trace, raw attributes restored."""
    [row] = api.sql(
        "SELECT * REPLACE (raw_attributes(attributes, input, output) AS attributes) "
        f"FROM spans WHERE trace_id = '{trace_id.hex()}'"
    )
    return row


def test_warnings_are_stored_per_span_counted_and_reported(api, otlp) -> None:
    trace_id = otlp.trace_id()
    spans = [
        otlp.span(
            "bad",
            trace_id=trace_id,
            attributes={"gen_ai.usage.input_tokens": "lots", "gen_ai.input.messages": "[oops"},
        ),
        otlp.span("clean", trace_id=trace_id, attributes={"gen_ai.operation.name": "chat"}),
    ]
    before = api.http.get("/health").json()["warned_spans"]

    reply = api.export_ok(otlp.request(spans))

    assert reply.partial_success.rejected_spans == 0
    message = reply.partial_success.error_message
    assert "1 span(s) stored with 2 warning(s)" in message
    assert "gen_ai.usage.input_tokens" in message
    rows = {
        row["name"]: row
        for row in api.sql(
            f"SELECT name, ingest_warnings FROM spans WHERE trace_id = '{trace_id.hex()}'"
        )
    }
    assert rows["bad"]["ingest_warnings"] == [
        "gen_ai.usage.input_tokens: not a non-negative integer: 'lots'",
        "gen_ai.input.messages: not a JSON array of messages",
    ]
    assert rows["clean"]["ingest_warnings"] is None
    assert api.http.get("/health").json()["warned_spans"] == before + 1


def test_clean_spans_get_no_partial_success(api, otlp) -> None:
    span = otlp.span("ok", trace_id=otlp.trace_id(), attributes={"input.value": "hi"})
    assert not api.export_ok(otlp.request([span])).HasField("partial_success")


@pytest.mark.parametrize(
    ("attributes", "key", "column"),
    [
        ({"traceloop.entity.input": '{"args": [1]}'}, "traceloop.entity.input", "input"),
        ({"traceloop.entity.output": '{"ok": true}'}, "traceloop.entity.output", "output"),
        (
            {"langfuse.observation.type": "span", "langfuse.observation.input": "question"},
            "langfuse.observation.input",
            "input",
        ),
        (
            {"langfuse.observation.type": "span", "langfuse.observation.output": "answer"},
            "langfuse.observation.output",
            "output",
        ),
        (
            {"mlflow.spanType": '"CHAIN"', "mlflow.spanInputs": '{"q": 1}'},
            "mlflow.spanInputs",
            "input",
        ),
        ({"ai.toolCall.name": "t", "ai.toolCall.args": '{"a": 1}'}, "ai.toolCall.args", "input"),
        ({"ai.toolCall.name": "t", "ai.toolCall.result": "42"}, "ai.toolCall.result", "output"),
        ({"gen_ai.retrieval.query.text": "refunds"}, "gen_ai.retrieval.query.text", "input"),
    ],
)
def test_text_copied_verbatim_is_stored_once(
    api, otlp, attributes: dict[str, str], key: str, column: str
) -> None:
    trace_id = otlp.trace_id()
    api.export_ok(otlp.request([otlp.span("copy", trace_id=trace_id, attributes=attributes)]))

    [stored] = api.sql(f"SELECT attributes FROM spans WHERE trace_id = '{trace_id.hex()}'")
    assert json.loads(stored["attributes"])[key] == {"$column": column}
    row = one_row(api, trace_id)
    assert row[column] == attributes[key]
    assert json.loads(row["attributes"]) == attributes


def test_absurd_sizes_are_stored(api, otlp) -> None:
    huge = "x" * 6_000_000
    many = {f"llm.input_messages.{i}.message.content": f"m{i}" for i in range(20_000)}
    many["llm.input_messages.0.message.role"] = "user"
    deep = "[" * 100_000 + "]" * 100_000
    cases = {
        "huge-content": {"gen_ai.input.messages": json.dumps([{"role": "user", "content": huge}])},
        "many-messages": many,
        "deep-json": {"gen_ai.output.messages": deep, "gen_ai.usage.output_tokens": 1e30},
        "sparse-index": {
            "llm.output_messages.0.message.content": "first",
            "llm.output_messages.99999999999.message.content": "last",
        },
    }
    trace_id = otlp.trace_id()
    spans = [otlp.span(name, trace_id=trace_id, attributes=a) for name, a in cases.items()]

    reply = api.export_ok(otlp.request(spans))

    assert reply.partial_success.rejected_spans == 0
    rows = {
        r["name"]: r
        for r in api.sql(
            "SELECT name, length(input) AS input_chars, output, output_tokens, ingest_warnings, "
            "json_array_length(input_messages) AS input_count FROM spans "
            f"WHERE trace_id = '{trace_id.hex()}'"
        )
    }
    assert rows["huge-content"]["input_chars"] == len(huge)
    assert rows["many-messages"]["input_count"] == 20_000
    assert rows["deep-json"]["output"] is None and rows["deep-json"]["output_tokens"] is None
    assert len(rows["deep-json"]["ingest_warnings"]) == 2
    assert rows["sparse-index"]["output"] == "unknown: first\nunknown: last"


def test_every_column_is_filled_for_every_span(otlp) -> None:
    batch = normalize_request(
        otlp.request([otlp.span("s", trace_id=otlp.trace_id(), attributes={"k": "v"})])
    )
    assert tuple(batch.table.column_names) == SPAN_COLUMN_NAMES
    assert batch.table.num_rows == 1


def test_a_price_file_prices_models_at_ingest(tmp_path: Path, otlp) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps({"version": "test", "models": {"acme-1": {"input": 2.0, "output": 4.0}}})
    )
    config = CollectorConfig(db_path=tmp_path / "p.duckdb", port=0, prices_path=prices)
    trace_id = otlp.trace_id()
    attributes = {
        "gen_ai.request.model": "acme-1-2026-01-31",
        "gen_ai.usage.input_tokens": 1_000_000,
        "gen_ai.usage.output_tokens": 500_000,
    }
    with CollectorServer(config) as server:
        import httpx

        body = otlp.request([otlp.span("c", trace_id=trace_id, attributes=attributes)])
        response = httpx.post(
            server.url + "/v1/traces",
            content=body.SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert response.status_code == 200
        rows = httpx.post(
            server.url + "/api/sql", json={"sql": "SELECT model, cost_usd FROM spans"}
        ).json()["rows"]
    assert rows == [["acme-1-2026-01-31", 4.0]]


def test_prices_come_from_loopwise_prices(tmp_path: Path, monkeypatch) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"version": "env", "models": {}}))
    monkeypatch.setenv("LOOPWISE_PRICES", str(prices))
    assert CollectorConfig.from_env().prices_path == prices


def test_a_bad_price_file_stops_the_collector_with_a_clear_error(tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"version": "v", "models": {"m": {"input": -1, "output": 0}}}))
    config = CollectorConfig(db_path=tmp_path / "bad.duckdb", port=0, prices_path=prices)
    with pytest.raises(PriceTableError, match=r"model 'm': \"input\" must be a non-negative"):
        config.check()
    with pytest.raises(PriceTableError):
        CollectorServer(config)
    assert not (tmp_path / "bad.duckdb").exists()  # nothing was created


def test_a_database_from_before_the_new_span_columns_is_migrated(tmp_path: Path, otlp) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        migrate(con, [m for m in MIGRATIONS if m[0] < "0010"])
        con.execute(
            "INSERT INTO spans (project, trace_id, span_id, name, kind, status, start_time, "
            "end_time, duration_ms, ingested_at) VALUES ('p', 't', 's', 'old', 'other', 'ok', "
            "now(), now(), 0, now())"
        )
    trace_id = otlp.trace_id()
    attributes = {"gen_ai.input.messages": json.dumps([{"role": "user", "content": "hi"}])}
    batch = normalize_request(
        otlp.request([otlp.span("new", trace_id=trace_id, attributes=attributes)])
    )
    with Store(path) as store:
        columns = [c for (c,) in store.query("SELECT name FROM pragma_table_info('spans')").rows]
        assert tuple(columns) == SPAN_COLUMN_NAMES
        assert store.append_spans(batch.table) == 1
        rows = store.query("SELECT name, input_messages FROM spans ORDER BY name").rows
    assert rows == [("new", '[{"role":"user","content":"hi"}]'), ("old", None)]
