"""Redaction at ingest, end to end: a real collector with a redaction config file, spans sent
with the official OpenTelemetry exporter and as raw OTLP/JSON, and what the database holds
afterwards (every text column, the canonical messages, the raw attributes as the
``raw_attributes()`` macro restores them, metadata, events, status)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import StatusCode
from typer.testing import CliRunner

from loopwise.cli import app
from loopwise.collector.redact import COUNTS_KEY, load_redaction
from loopwise.collector.sdk.testing import FIXED_EPOCH_NS as EPOCH_NS
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.server.decode import JSON

EMAIL = "maria.lopez@example.com"
PHONE = "+1 415 555 0132"
CARD = "4111 1111 1111 1111"
CARD_DIGITS = "4111111111111111"
NOT_LUHN = "4111 1111 1111 1112"
ORDER_ID = "4111111111111112"
OPENAI_KEY = "sk-proj-abcdefghijklmnopqrstuvwx1234"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
BEARER = "eyJhbGciOiJIUzI1NiJ9x.eyJzdWIiOiIxMjM0NTY3ODkwIn0x.dozjgNryP4J3jVmNHl0w5N"
EMPLOYEE = "EMP-123456"
SECRETS = (EMAIL, PHONE, CARD, CARD_DIGITS, OPENAI_KEY, AWS_KEY, BEARER, EMPLOYEE)
CONFIG = """
kinds = ["api_key", "secret", "email", "card", "phone"]

[[patterns]]
kind = "employee_id"
regex = "EMP-[0-9]{6}"

[projects.open]
enabled = false
"""
STORED_COLUMNS = (
    "input",
    "output",
    "input_messages",
    "output_messages",
    "attributes",
    "metadata",
    "events",
    "status_message",
)
COLUMNS = ", ".join(STORED_COLUMNS) + ", raw_attributes(attributes, input, output) AS raw"


@pytest.fixture(scope="module")
def collector_config(tmp_path_factory: pytest.TempPathFactory) -> CollectorConfig:
    folder = tmp_path_factory.mktemp("redacting")
    (folder / "redact.toml").write_text(CONFIG)
    return CollectorConfig(
        db_path=folder / "t.duckdb", port=0, redaction=load_redaction(folder / "redact.toml")
    )


@pytest.fixture
def provider(collector_server: CollectorServer, unique_project: str) -> Iterator[TracerProvider]:
    """The official SDK and OTLP/HTTP exporter, sending synchronously to the collector."""
    tracer_provider = TracerProvider(
        resource=Resource.create({"service.name": "pii-app", "loopwise.project": unique_project})
    )
    exporter = OTLPSpanExporter(endpoint=collector_server.url + "/v1/traces")
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield tracer_provider
    tracer_provider.shutdown()


def send_leaky_span(provider: TracerProvider) -> None:
    span = provider.get_tracer("pii").start_span(
        "chat",
        start_time=EPOCH_NS,
        attributes={
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-x",
            "input.value": f"I am {EMAIL}, call me on {PHONE}. Card {CARD}, order {ORDER_ID}.",
            "output.value": f"Use key {OPENAI_KEY} and AWS {AWS_KEY}. Not a card: {NOT_LUHN}.",
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": f"Staff {EMPLOYEE} may see {EMAIL}.",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.content": f"My card is {CARD}",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": f"Noted, {EMAIL}.",
            "http.request.header.authorization": f"Bearer {BEARER}",
            "app.card_number": int(CARD_DIGITS),
            "app.order_id": int(ORDER_ID),
            "metadata": json.dumps({"contact": EMAIL, "ticket": "T-1"}),
        },
    )
    span.add_event("exception", {"exception.message": f"lookup failed for {EMAIL}"})
    span.set_status(StatusCode.ERROR, f"upstream rejected key {OPENAI_KEY}")
    span.end(end_time=EPOCH_NS + 5_000_000)


def stored(api: Any, project: str) -> dict[str, Any]:
    [row] = api.sql(f"SELECT {COLUMNS} FROM spans WHERE project = '{project}'")
    return dict(row)


def test_nothing_secret_is_stored_from_the_official_exporter(
    provider: TracerProvider, api: Any, unique_project: str
) -> None:
    send_leaky_span(provider)
    row = stored(api, unique_project)
    everything = json.dumps(row, ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in everything, secret
    # With chat messages present, input/output are the messages as text; input.value and
    # output.value stay in the raw attributes.
    assert row["input"] == (
        "system: Staff [redacted:employee_id] may see [redacted:email].\n"
        "user: My card is [redacted:card]"
    )
    raw = json.loads(row["raw"])  # the raw attributes, as the macro restores them
    assert raw["input.value"] == (
        "I am [redacted:email], call me on [redacted:phone]. Card [redacted:card], "
        f"order {ORDER_ID}."
    )
    assert raw["output.value"] == (
        f"Use key [redacted:api_key] and AWS [redacted:api_key]. Not a card: {NOT_LUHN}."
    )
    assert [m["content"] for m in json.loads(row["input_messages"])] == [
        "Staff [redacted:employee_id] may see [redacted:email].",
        "My card is [redacted:card]",
    ]
    assert json.loads(row["output_messages"])[0]["content"] == "Noted, [redacted:email]."
    assert raw["http.request.header.authorization"] == "Bearer [redacted:api_key]"
    assert raw["app.card_number"] == "[redacted:card]"
    assert raw["app.order_id"] == int(ORDER_ID)  # fails Luhn: an order id, kept
    assert json.loads(row["events"])[0]["attributes"]["exception.message"] == (
        "lookup failed for [redacted:email]"
    )
    assert row["status_message"] == "upstream rejected key [redacted:api_key]"
    metadata = json.loads(row["metadata"])
    assert metadata["contact"] == "[redacted:email]"
    # The counts are the markers the span's stored columns hold, per kind.
    counts = metadata.pop(COUNTS_KEY)
    stored_text = [row[c] for c in STORED_COLUMNS if c != "metadata"] + [json.dumps(metadata)]
    markers = {k: sum((t or "").count(f"[redacted:{k}]") for t in stored_text) for k in counts}
    assert counts == markers
    assert set(counts) == {"api_key", "card", "email", "employee_id", "phone"}


def test_a_project_with_redaction_off_keeps_its_text(
    collector_server: CollectorServer, api: Any
) -> None:
    tracer_provider = TracerProvider(resource=Resource.create({"loopwise.project": "open"}))
    exporter = OTLPSpanExporter(endpoint=collector_server.url + "/v1/traces")
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    send_leaky_span(tracer_provider)
    tracer_provider.shutdown()
    row = stored(api, "open")
    assert EMAIL in row["input"] and CARD in row["input"] and OPENAI_KEY in row["raw"]
    assert COUNTS_KEY not in json.loads(row["metadata"])


def test_raw_otlp_json_with_escapes_is_redacted_and_stays_json(
    api: Any, otlp: Any, unique_project: str
) -> None:
    trace_id = otlp.trace_id()
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "loopwise.project", "value": {"stringValue": unique_project}}
                    ]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": trace_id.hex(),
                                "spanId": otlp.span_id().hex(),
                                "name": "tool",
                                "startTimeUnixNano": str(EPOCH_NS),
                                "endTimeUnixNano": str(EPOCH_NS + 1000),
                                "attributes": [
                                    _attr("note", f'line\n{EMAIL}\t"{PHONE}"\\n'),
                                    _attr("ctl", f"\u001f{EMAIL}"),
                                    _attr("secret_config", "password=correct-horse-battery"),
                                    {"key": "card", "value": {"intValue": CARD_DIGITS}},
                                ],
                            }
                        ]
                    }
                ],
            }
        ]
    }
    response = api.post(json.dumps(body).encode(), JSON)
    assert response.status_code == 200, response.text
    [row] = api.sql(
        "SELECT json_valid(attributes) AS valid, raw_attributes(attributes, input, output) AS raw "
        f"FROM spans WHERE trace_id = '{trace_id.hex()}'"
    )
    assert row["valid"] is True
    raw = json.loads(row["raw"])
    assert raw["note"] == 'line\n[redacted:email]\t"[redacted:phone]"\\n'
    assert raw["ctl"] == "\u001f[redacted:email]"
    assert raw["secret_config"] == "password=[redacted:secret]"
    assert raw["card"] == "[redacted:card]"


def test_every_stored_json_column_is_valid(api: Any) -> None:
    [row] = api.sql(
        "SELECT count(*) FILTER (WHERE NOT json_valid(attributes) OR NOT json_valid(metadata) "
        "OR NOT json_valid(input_messages) OR NOT json_valid(output_messages) "
        "OR NOT json_valid(events)) AS broken, count(*) AS spans FROM spans"
    )
    assert row["spans"] > 0 and row["broken"] == 0


def _attr(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def test_collect_refuses_a_bad_redaction_config(tmp_path: Path) -> None:
    bad = tmp_path / "redact.toml"
    bad.write_text('kinds = ["ssn"]')
    result = CliRunner().invoke(
        app, ["collect", "--db", str(tmp_path / "x.duckdb"), "--port", "0", "--redact", str(bad)]
    )
    assert result.exit_code == 1
    assert "unknown kind 'ssn'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.duckdb").exists()


def test_the_sdk_local_mode_redacts_as_the_collector_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import loopwise
    from loopwise.collector.store import Store

    def write(path: Path) -> list[tuple[str, str]]:
        client = loopwise.Client()
        client.init("local", db=path, batch=False, set_global=False)
        with client.span("answer", kind="llm") as span:
            span.set_input(f"I am {EMAIL}")
            span.set_output(f"Card {CARD} noted")
        client.shutdown()
        with Store(path) as store:
            return [tuple(r) for r in store.query("SELECT input, output FROM spans").rows]

    assert write(tmp_path / "default.duckdb") == [
        ("I am [redacted:email]", "Card [redacted:card] noted")
    ]
    monkeypatch.setenv("LOOPWISE_REDACT", "off")
    assert write(tmp_path / "off.duckdb") == [(f"I am {EMAIL}", f"Card {CARD} noted")]
