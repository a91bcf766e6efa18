"""``POST /v1/logs``: OTLP logs from the official exporter into the ``logs`` table, and GenAI
content events joined to their spans whichever arrives first.

A real collector on 127.0.0.1 with its own DuckDB file; log records are sent with
opentelemetry-exporter-otlp-proto-http's ``OTLPLogExporter`` (and as raw requests where a
test needs exact bytes); spans with hand-built OTLP requests; rows read back through the
collector's SQL API.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry import trace as trace_api
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource

from loopwise.collector.server import CollectorConfig
from loopwise.collector.server.decode import JSON, PROTOBUF

DETAILS = "gen_ai.client.inference.operation.details"
INPUT = [
    {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
    {"role": "user", "parts": [{"type": "text", "content": "Refund window?"}]},
]
OUTPUT = [
    {
        "role": "assistant",
        "parts": [{"type": "text", "content": "Thirty days."}],
        "finish_reason": "stop",
    }
]
CHAT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 12,
    "gen_ai.usage.output_tokens": 4,
}


@pytest.fixture(scope="module")
def collector_config(tmp_path_factory: pytest.TempPathFactory) -> CollectorConfig:
    """A small body limit, so the 413 test needs no large request."""
    return CollectorConfig(
        db_path=tmp_path_factory.mktemp("logs") / "t.duckdb", port=0, max_body_bytes=64 * 1024
    )


class LogSender:
    """Emits log records through the official SDK and OTLP/HTTP exporter, one export each."""

    def __init__(self, url: str, project: str) -> None:
        resource = Resource.create({"service.name": "logs-test", "loopwise.project": project})
        self.provider = LoggerProvider(resource=resource)
        self.exporter = OTLPLogExporter(endpoint=url + "/v1/logs")
        self.provider.add_log_record_processor(SimpleLogRecordProcessor(self.exporter))
        self.logger = self.provider.get_logger("loopwise.tests")

    def emit(
        self,
        *,
        trace_id: bytes | None = None,
        span_id: bytes | None = None,
        event_name: str | None = None,
        body: Any = None,
        attributes: dict[str, Any] | None = None,
        severity: SeverityNumber = SeverityNumber.INFO,
    ) -> None:
        context = None
        if trace_id is not None and span_id is not None:
            parent = trace_api.SpanContext(
                int.from_bytes(trace_id, "big"),
                int.from_bytes(span_id, "big"),
                is_remote=False,
                trace_flags=trace_api.TraceFlags(1),
            )
            context = trace_api.set_span_in_context(trace_api.NonRecordingSpan(parent))
        self.logger.emit(
            context=context,
            event_name=event_name,
            body=body,
            attributes=attributes,
            severity_number=severity,
            severity_text=severity.name,
        )

    def close(self) -> None:
        self.provider.shutdown()


@pytest.fixture
def sender(collector_server, unique_project: str) -> Iterator[LogSender]:
    made = LogSender(collector_server.url, unique_project)
    yield made
    made.close()


def span_row(api, trace_id: bytes) -> dict[str, Any]:
    [row] = api.sql(
        "SELECT input, output, input_messages, output_messages, input_tokens FROM spans "
        f"WHERE trace_id = '{trace_id.hex()}'"
    )
    for column in ("input_messages", "output_messages"):
        row[column] = json.loads(row[column]) if row[column] else None
    return row


def details(sender: LogSender, trace_id: bytes, span_id: bytes, **attributes: Any) -> None:
    sender.emit(
        trace_id=trace_id,
        span_id=span_id,
        event_name=DETAILS,
        attributes={
            "gen_ai.input.messages": json.dumps(INPUT),
            "gen_ai.output.messages": json.dumps(OUTPUT),
            **attributes,
        },
    )


EXPECTED_INPUT = "system: Be brief.\nuser: Refund window?"
EXPECTED_INPUT_MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Refund window?"},
]


def test_event_before_its_span_fills_the_span(api, otlp, sender: LogSender) -> None:
    trace_id, span_id = otlp.trace_id(), otlp.span_id()
    details(sender, trace_id, span_id)

    api.export_ok(
        otlp.request([otlp.span("chat", trace_id=trace_id, span_id=span_id, attributes=CHAT)])
    )

    row = span_row(api, trace_id)
    assert row["input"] == EXPECTED_INPUT
    assert row["input_messages"] == EXPECTED_INPUT_MESSAGES
    assert row["output"] == "Thirty days."
    assert row["output_messages"] == [{"role": "assistant", "content": "Thirty days."}]
    assert row["input_tokens"] == 12
    [trace] = api.sql(f"SELECT input_preview FROM traces WHERE trace_id = '{trace_id.hex()}'")
    assert trace["input_preview"] == EXPECTED_INPUT


def test_event_after_its_span_fills_the_stored_span(api, otlp, sender: LogSender) -> None:
    trace_id, span_id = otlp.trace_id(), otlp.span_id()
    api.export_ok(
        otlp.request([otlp.span("chat", trace_id=trace_id, span_id=span_id, attributes=CHAT)])
    )
    assert span_row(api, trace_id)["input"] is None

    details(sender, trace_id, span_id)

    row = span_row(api, trace_id)
    assert row["input"] == EXPECTED_INPUT
    assert row["output"] == "Thirty days."
    [trace] = api.sql(
        f"SELECT input_preview, output_preview FROM traces WHERE trace_id = '{trace_id.hex()}'"
    )
    assert trace == {"input_preview": EXPECTED_INPUT, "output_preview": "Thirty days."}


def test_per_message_events_join_in_order(api, otlp, sender: LogSender) -> None:
    trace_id, span_id = otlp.trace_id(), otlp.span_id()
    ids = {"trace_id": trace_id, "span_id": span_id}
    sender.emit(**ids, event_name="gen_ai.system.message", body={"content": "Be brief."})
    api.export_ok(
        otlp.request([otlp.span("chat", trace_id=trace_id, span_id=span_id, attributes=CHAT)])
    )
    sender.emit(**ids, event_name="gen_ai.user.message", body={"content": "Refund window?"})
    sender.emit(
        **ids,
        event_name="gen_ai.choice",
        body={
            "index": 0,
            "finish_reason": "tool_calls",
            "message": {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "policy", "arguments": '{"topic":"refund"}'},
                    }
                ],
            },
        },
    )

    row = span_row(api, trace_id)
    assert row["input_messages"] == EXPECTED_INPUT_MESSAGES
    assert row["output_messages"] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "c1", "name": "policy", "arguments": '{"topic":"refund"}'}],
        }
    ]
    assert row["output"] == 'policy({"topic":"refund"})'


def test_span_content_is_not_overwritten(api, otlp, sender: LogSender) -> None:
    trace_id, span_id = otlp.trace_id(), otlp.span_id()
    own = {**CHAT, "gen_ai.input.messages": json.dumps([INPUT[1]])}
    api.export_ok(
        otlp.request([otlp.span("chat", trace_id=trace_id, span_id=span_id, attributes=own)])
    )

    details(sender, trace_id, span_id)

    row = span_row(api, trace_id)
    assert row["input"] == "Refund window?"  # the span's own input stays
    assert row["output"] == "Thirty days."  # the empty output is filled


def test_other_logs_are_queryable(api, sender: LogSender, unique_project: str) -> None:
    sender.emit(body="payment service timed out", severity=SeverityNumber.ERROR)
    sender.emit(body={"event": "retry", "attempt": 2}, attributes={"component": "billing"})

    found = api.sql(
        "SELECT body, severity_text, severity_number, attributes, service_name, input_messages "
        f"FROM logs WHERE project = '{unique_project}' ORDER BY seq"
    )
    assert [row["body"] for row in found] == [
        "payment service timed out",
        '{"event":"retry","attempt":2}',
    ]
    assert [row["severity_text"] for row in found] == ["ERROR", "INFO"]
    assert found[0]["severity_number"] == SeverityNumber.ERROR.value
    assert json.loads(found[1]["attributes"]) == {"component": "billing"}
    assert {row["service_name"] for row in found} == {"logs-test"}
    assert all(row["input_messages"] is None for row in found)


def request_with(records: Sequence[LogRecord], project: str) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    attribute = resource_logs.resource.attributes.add(key="loopwise.project")
    attribute.value.string_value = project
    resource_logs.scope_logs.add().log_records.extend(records)
    return request


def record(text: str, **fields: Any) -> LogRecord:
    made = LogRecord(time_unix_nano=1_767_225_600_000_000_000, **fields)
    made.body.string_value = text
    return made


def count_logs(api, project: str) -> int:
    return int(api.sql(f"SELECT count(*) AS n FROM logs WHERE project = '{project}'")[0]["n"])


def parse_reply(response) -> ExportLogsServiceResponse:
    reply = ExportLogsServiceResponse()
    if response.headers["content-type"].startswith(PROTOBUF):
        reply.ParseFromString(response.content)
    else:
        json_format.Parse(response.text, reply)
    return reply


def test_resent_request_changes_nothing(api, unique_project: str) -> None:
    body = request_with([record("one"), record("two")], unique_project).SerializeToString()
    for _ in range(3):
        response = api.post(body, PROTOBUF, path="/v1/logs")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(PROTOBUF)
    assert count_logs(api, unique_project) == 2


def test_json_and_gzip(api, otlp, unique_project: str) -> None:
    trace_id, span_id = otlp.trace_id(), otlp.span_id()
    document = {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [
                        {"key": "loopwise.project", "value": {"stringValue": unique_project}}
                    ]
                },
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": "1767225600000000000",
                                "severityNumber": 9,
                                "eventName": DETAILS,
                                "traceId": trace_id.hex(),
                                "spanId": span_id.hex(),
                                "attributes": [
                                    {
                                        "key": "gen_ai.input.messages",
                                        "value": {"stringValue": json.dumps(INPUT)},
                                    }
                                ],
                                "unknownField": True,
                            }
                        ]
                    }
                ],
            }
        ]
    }
    body = gzip.compress(json.dumps(document).encode())
    response = api.post(body, JSON, path="/v1/logs", headers={"Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(JSON)
    assert parse_reply(response).partial_success.rejected_log_records == 0

    api.export_ok(
        otlp.request([otlp.span("chat", trace_id=trace_id, span_id=span_id, attributes=CHAT)])
    )
    assert span_row(api, trace_id)["input"] == EXPECTED_INPUT
    [stored] = api.sql(
        f"SELECT event_name, trace_id, span_id FROM logs WHERE project = '{unique_project}'"
    )
    assert stored == {"event_name": DETAILS, "trace_id": trace_id.hex(), "span_id": span_id.hex()}


def test_bad_ids_are_rejected_alone(api, unique_project: str) -> None:
    good = record("kept")
    bad = record("dropped", trace_id=b"\x01" * 5, span_id=b"\x02" * 8)
    response = api.post(
        request_with([good, bad], unique_project).SerializeToString(), PROTOBUF, path="/v1/logs"
    )
    assert response.status_code == 200
    partial = parse_reply(response).partial_success
    assert partial.rejected_log_records == 1
    assert "trace_id" in partial.error_message
    assert count_logs(api, unique_project) == 1


@pytest.mark.parametrize(
    ("body", "content_type", "headers", "status"),
    [
        (b"\xff\x00not protobuf", PROTOBUF, {}, 400),
        (b"{not json", JSON, {}, 400),
        (b"[1, 2]", JSON, {}, 400),
        (b"{}", "text/plain", {}, 415),
        (b"not gzip", PROTOBUF, {"Content-Encoding": "gzip"}, 400),
        (b"x" * (65 * 1024), PROTOBUF, {}, 413),
        (gzip.compress(b"\x00" * (200 * 1024)), PROTOBUF, {"Content-Encoding": "gzip"}, 413),
        (b'{"resourceLogs": [{"scopeLogs": [{"\\ud800": 1}]}]}', JSON, {}, 400),
    ],
    ids=[
        "protobuf",
        "json",
        "json-array",
        "content-type",
        "gzip",
        "too-big",
        "gzip-bomb",
        "lone-surrogate",
    ],
)
def test_bad_requests_are_refused_and_change_nothing(
    api, body: bytes, content_type: str, headers: dict[str, str], status: int
) -> None:
    before = int(api.sql("SELECT count(*) AS n FROM logs")[0]["n"])

    response = api.post(body, content_type, path="/v1/logs", headers=headers)

    assert response.status_code == status
    assert api.error_message(response)
    assert int(api.sql("SELECT count(*) AS n FROM logs")[0]["n"]) == before
    assert api.healthy()


def test_pending_events_survive_a_restart(tmp_path, otlp) -> None:
    from loopwise.collector.semconv import normalize_request
    from loopwise.collector.semconv.logs import normalize_logs
    from loopwise.collector.store import Store

    trace_id, span_id = otlp.trace_id(), otlp.span_id()
    event = LogRecord(
        time_unix_nano=1_767_225_600_000_000_000,
        event_name=DETAILS,
        trace_id=trace_id,
        span_id=span_id,
    )
    event.attributes.add(key="gen_ai.output.messages").value.string_value = json.dumps(OUTPUT)
    path = tmp_path / "restart.duckdb"
    with Store(path) as store:
        logs = normalize_logs(request_with([event], "p"), default_project="default")
        assert store.append_logs(logs.table) == 1

    with Store(path) as store:  # a new process: the pending key is read back from the table
        span = otlp.span("chat", trace_id=trace_id, span_id=span_id, attributes=CHAT)
        assert store.append_spans(normalize_request(otlp.request([span])).table) == 1
        [(output,)] = store.query(
            "SELECT output FROM spans WHERE trace_id = ?", [trace_id.hex()]
        ).rows
    assert output == "Thirty days."


def test_odd_content_events_are_stored_and_read_as_far_as_they_go(
    api, otlp, sender: LogSender, unique_project: str
) -> None:
    trace_id, span_id = otlp.trace_id(), otlp.span_id()
    ids = {"trace_id": trace_id, "span_id": span_id}
    sender.emit(**ids, event_name=DETAILS, attributes={"gen_ai.input.messages": "not json ["})
    sender.emit(**ids, event_name="gen_ai.choice", body=[1, [2, [3]]])
    sender.emit(**ids, event_name="gen_ai.user.message", body={"content": {"deep": [[[[]]]]}})
    api.export_ok(
        otlp.request([otlp.span("chat", trace_id=trace_id, span_id=span_id, attributes=CHAT)])
    )

    assert count_logs(api, unique_project) == 3
    row = span_row(api, trace_id)
    assert row["input_tokens"] == 12  # the span is stored whatever its events held
    # What could be read is text; the operation.details event with non-JSON messages gave none.
    assert row["input"] == '{"deep":[[[[]]]]}'
    assert row["output"] == "1\n[2,[3]]"
    assert api.healthy()


def test_a_keyed_collector_refuses_logs_without_the_key(tmp_path) -> None:
    import httpx

    from loopwise.collector.server import CollectorServer

    body = request_with([record("needs a key")], "keyed").SerializeToString()
    config = CollectorConfig(db_path=tmp_path / "keyed.duckdb", port=0, api_key="s3cret")
    with CollectorServer(config) as server, httpx.Client(base_url=server.url) as http:
        headers = {"Content-Type": PROTOBUF}
        refused = http.post("/v1/logs", content=body, headers=headers)
        wrong = http.post(
            "/v1/logs", content=body, headers={**headers, "Authorization": "Bearer nope"}
        )
        accepted = http.post(
            "/v1/logs", content=body, headers={**headers, "Authorization": "Bearer s3cret"}
        )
        counted = http.post(
            "/api/sql",
            json={"sql": "SELECT count(*) AS n FROM logs"},
            headers={"Authorization": "Bearer s3cret"},
        )
    assert (refused.status_code, wrong.status_code, accepted.status_code) == (401, 401, 200)
    assert counted.json()["rows"] == [[1]]  # the refused requests stored nothing
