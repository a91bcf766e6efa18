"""The OTLP/HTTP receiver: round trips with the official exporter, OTLP/JSON, gzip, empty and
repeated requests, partial success."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from google.protobuf import json_format
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Status
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from loopwise.collector.sdk.testing import FIXED_EPOCH_NS as EPOCH_NS
from loopwise.collector.server import OTLP_TRACE_PATHS, CollectorServer
from loopwise.collector.server.decode import JSON, PROTOBUF

MS = 1_000_000


@pytest.fixture
def tracer_provider(
    collector_server: CollectorServer, request: pytest.FixtureRequest
) -> Iterator[TracerProvider]:
    """An opentelemetry-sdk provider exporting synchronously to the collector with the
    official OTLP/HTTP exporter; parametrize indirectly with ``(path, compression)``."""
    path, compression = getattr(request, "param", ("/v1/traces", Compression.NoCompression))
    provider = TracerProvider(
        resource=Resource.create({"service.name": "roundtrip-svc", "loopwise.project": "rt"})
    )
    exporter = OTLPSpanExporter(endpoint=collector_server.url + path, compression=compression)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


@pytest.mark.parametrize(
    "tracer_provider",
    [
        (OTLP_TRACE_PATHS[0], Compression.NoCompression),
        (OTLP_TRACE_PATHS[1], Compression.NoCompression),
        (OTLP_TRACE_PATHS[0], Compression.Gzip),
    ],
    indirect=True,
    ids=["v1-traces", "langfuse-path", "v1-traces-gzip"],
)
def test_official_exporter_round_trip(tracer_provider: TracerProvider, api) -> None:
    tracer = tracer_provider.get_tracer("roundtrip")
    root = tracer.start_span(
        "agent-run", start_time=EPOCH_NS, attributes={"app.flag": True, "app.ratio": 0.5}
    )
    root_ctx = root.get_span_context()
    child = tracer.start_span(
        "chat gpt-x",
        context=trace.set_span_in_context(root),
        kind=SpanKind.CLIENT,
        start_time=EPOCH_NS + 2 * MS,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-x",
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 3,
            "app.list": ["a", "b"],
        },
    )
    child.set_status(StatusCode.ERROR, "model timed out")
    child.end(end_time=EPOCH_NS + 252 * MS)
    root.end(end_time=EPOCH_NS + 300 * MS)

    trace_id = format(root_ctx.trace_id, "032x")
    rows = {
        row["name"]: row
        for row in api.sql(
            "SELECT trace_id, span_id, parent_span_id, name, kind, status, status_message, "
            "epoch_us(start_time) AS start_us, epoch_us(end_time) AS end_us, duration_ms, "
            "service_name, project, model, input_tokens, output_tokens, total_tokens, "
            f"attributes, resource FROM spans WHERE trace_id = '{trace_id}'"
        )
    }
    assert set(rows) == {"agent-run", "chat gpt-x"}
    parent, llm = rows["agent-run"], rows["chat gpt-x"]

    assert parent["span_id"] == format(root_ctx.span_id, "016x")
    assert parent["parent_span_id"] is None
    assert llm["span_id"] == format(child.get_span_context().span_id, "016x")
    assert llm["parent_span_id"] == parent["span_id"]
    assert (parent["start_us"], parent["end_us"]) == (EPOCH_NS // 1000, EPOCH_NS // 1000 + 300_000)
    assert parent["duration_ms"] == 300.0
    assert llm["duration_ms"] == 250.0
    assert (parent["status"], llm["status"], llm["status_message"]) == (
        "unset",
        "error",
        "model timed out",
    )
    assert (llm["kind"], llm["model"]) == ("llm", "gpt-x")
    assert (llm["input_tokens"], llm["output_tokens"], llm["total_tokens"]) == (12, 3, 15)
    assert parent["service_name"] == llm["service_name"] == "roundtrip-svc"
    assert parent["project"] == "rt"
    assert json.loads(parent["attributes"]) == {"app.flag": True, "app.ratio": 0.5}
    assert json.loads(llm["attributes"])["app.list"] == ["a", "b"]
    assert json.loads(llm["resource"])["service.name"] == "roundtrip-svc"


def test_otlp_json_with_hex_ids_string_int64_and_unknown_fields(api, otlp) -> None:
    trace_id, span_id, parent_id = otlp.trace_id(), otlp.span_id(), otlp.span_id()
    document = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}],
                    "someFutureField": {"x": 1},
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "json-test", "version": "1"},
                        "spans": [
                            {
                                "traceId": trace_id.hex(),
                                "spanId": span_id.hex(),
                                "parentSpanId": parent_id.hex(),
                                "name": "json span",
                                "kind": 3,
                                "startTimeUnixNano": str(EPOCH_NS),
                                "endTimeUnixNano": str(EPOCH_NS + 42 * MS),
                                "attributes": [
                                    {"key": "count", "value": {"intValue": "42"}},
                                    {"key": "ratio", "value": {"doubleValue": 0.25}},
                                    {"key": "ok", "value": {"boolValue": True}},
                                    {"key": "word", "value": {"stringValue": "hi"}},
                                ],
                                "status": {"code": 2, "message": "bad"},
                                "flags": 256,
                                "unknownSpanField": [1, 2, 3],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    response = api.post(json.dumps(document).encode(), JSON)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(JSON)
    assert not api.parse_response(response).HasField("partial_success")
    [row] = api.sql(
        "SELECT span_id, parent_span_id, kind, status, status_message, duration_ms, "
        "epoch_us(start_time) AS start_us, service_name, attributes FROM spans "
        f"WHERE trace_id = '{trace_id.hex()}'"
    )
    assert row["span_id"] == span_id.hex()
    assert row["parent_span_id"] == parent_id.hex()
    assert (row["status"], row["status_message"]) == ("error", "bad")
    assert row["start_us"] == EPOCH_NS // 1000
    assert row["duration_ms"] == 42.0
    assert row["service_name"] == "json-svc"
    assert json.loads(row["attributes"]) == {"count": 42, "ratio": 0.25, "ok": True, "word": "hi"}


def test_protobuf_request_gets_protobuf_response(api, otlp) -> None:
    trace_id = otlp.trace_id()
    response = api.export(otlp.request([otlp.span("pb", trace_id=trace_id)]))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(PROTOBUF)
    reply = ExportTraceServiceResponse.FromString(response.content)
    assert not reply.HasField("partial_success")
    assert api.count_trace(trace_id) == 1


@pytest.mark.parametrize("encoding", [PROTOBUF, JSON])
def test_gzip_content_encoding(api, otlp, encoding: str) -> None:
    trace_id = otlp.trace_id()
    request = otlp.request([otlp.span("zipped", trace_id=trace_id) for _ in range(3)])
    if encoding == PROTOBUF:
        body = request.SerializeToString()
    else:
        document = json_format.MessageToDict(request)
        for span in document["resourceSpans"][0]["scopeSpans"][0]["spans"]:
            for key in ("traceId", "spanId"):
                span[key] = base64.b64decode(span[key]).hex()
        body = json.dumps(document).encode()

    response = api.post(gzip.compress(body), encoding, headers={"Content-Encoding": "gzip"})

    assert response.status_code == 200, response.content
    assert response.headers["content-type"].startswith(encoding)
    assert api.count_trace(trace_id) == 3


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", PROTOBUF),
        (ExportTraceServiceRequest().SerializeToString(), PROTOBUF),
        (b"{}", JSON),
        (b'{"resourceSpans": []}', JSON),
    ],
    ids=["zero-byte-protobuf", "empty-message", "empty-json-object", "no-resource-spans"],
)
def test_empty_request_is_accepted_and_writes_nothing(api, body: bytes, content_type: str) -> None:
    before = api.count()

    response = api.post(body, content_type)

    assert response.status_code == 200, response.content
    assert not api.parse_response(response).HasField("partial_success")
    assert api.count() == before


def test_request_with_resource_but_no_spans_writes_nothing(api, otlp) -> None:
    before = api.count()
    reply = api.export_ok(otlp.request([]))
    assert not reply.HasField("partial_success")
    assert api.count() == before


def test_resending_the_same_batch_is_idempotent(api, otlp) -> None:
    trace_id = otlp.trace_id()
    request = otlp.request([otlp.span(f"s{i}", trace_id=trace_id) for i in range(4)])

    api.export_ok(request)
    assert api.count_trace(trace_id) == 4
    total = api.count()
    api.export_ok(request)
    api.export_ok(request)

    assert api.count_trace(trace_id) == 4
    assert api.count() == total


def test_same_span_twice_in_one_request_is_stored_once(api, otlp) -> None:
    trace_id, span_id = otlp.trace_id(), otlp.span_id()
    twice = [otlp.span("dup", trace_id=trace_id, span_id=span_id) for _ in range(2)]

    api.export_ok(otlp.request(twice))

    assert api.count_trace(trace_id) == 1


def test_concurrent_requests_are_all_committed(api, otlp) -> None:
    """Requests arriving together share group commits; each 200 still means stored."""
    trace_ids = [otlp.trace_id() for _ in range(8)]
    requests = [
        otlp.request([otlp.span(f"c{i}", trace_id=tid) for i in range(5)]) for tid in trace_ids
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda r: api.export(r).status_code, requests))

    assert statuses == [200] * 8
    assert [api.count_trace(tid) for tid in trace_ids] == [5] * 8


def test_partial_success_reports_rejected_spans_and_stores_the_rest(api, otlp) -> None:
    trace_id = otlp.trace_id()
    good = [otlp.span("good-1", trace_id=trace_id), otlp.span("good-2", trace_id=trace_id)]
    short_trace = otlp.span("bad-trace-id", trace_id=trace_id[:10])
    zero_span = otlp.span("zero-span-id", trace_id=trace_id, span_id=bytes(8))
    no_start = otlp.span("no-start", trace_id=trace_id, start_ns=0, end_ns=EPOCH_NS)

    reply = api.export_ok(otlp.request([good[0], short_trace, zero_span, no_start, good[1]]))

    assert reply.partial_success.rejected_spans == 3
    message = reply.partial_success.error_message
    assert "trace_id" in message and "span_id" in message and "start_time" in message
    rows = api.sql(f"SELECT name FROM spans WHERE trace_id = '{trace_id.hex()}' ORDER BY name")
    assert [row["name"] for row in rows] == ["good-1", "good-2"]


def test_partial_success_in_json(api, otlp) -> None:
    trace_id = otlp.trace_id()

    def span(name: str, trace_hex: str, span_hex: str) -> dict[str, object]:
        return {
            "traceId": trace_hex,
            "spanId": span_hex,
            "name": name,
            "startTimeUnixNano": str(EPOCH_NS),
            "endTimeUnixNano": str(EPOCH_NS + MS),
        }

    document = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            span("ok", trace_id.hex(), otlp.span_id().hex()),
                            span("short", "abcd", otlp.span_id().hex()),
                            span("not-hex", "zz" * 16, otlp.span_id().hex()),
                        ]
                    }
                ]
            }
        ]
    }

    response = api.post(json.dumps(document).encode(), JSON)

    assert response.status_code == 200, response.text
    reply = api.parse_response(response)
    assert reply.partial_success.rejected_spans == 2
    assert reply.partial_success.error_message
    assert api.count_trace(trace_id) == 1


def test_status_codes_and_end_before_start(api, otlp) -> None:
    trace_id = otlp.trace_id()
    spans = [
        otlp.span("ok", trace_id=trace_id, status_code=Status.STATUS_CODE_OK),
        otlp.span("unset", trace_id=trace_id),
        otlp.span("backwards", trace_id=trace_id, start_ns=EPOCH_NS + MS, end_ns=EPOCH_NS),
    ]
    api.export_ok(otlp.request(spans))

    rows = {
        row["name"]: row
        for row in api.sql(
            f"SELECT name, status, duration_ms FROM spans WHERE trace_id = '{trace_id.hex()}'"
        )
    }
    assert rows["ok"]["status"] == "ok"
    assert rows["unset"]["status"] == "unset"
    assert rows["backwards"]["duration_ms"] == 0.0


def test_project_comes_from_the_resource(api, otlp, unique_project: str) -> None:
    trace_id = otlp.trace_id()
    api.export_ok(otlp.request([otlp.span("p", trace_id=trace_id)], project=unique_project))
    api.export_ok(otlp.request([otlp.span("d", trace_id=otlp.trace_id())]))

    assert api.count(f"project = '{unique_project}'") == 1
    assert api.count_trace(trace_id) == 1
