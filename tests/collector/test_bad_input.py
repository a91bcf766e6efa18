"""Bad input: every malformed request gets a 4xx with a readable message, nothing is written,
and the collector keeps serving."""

from __future__ import annotations

import gzip
import json
import random
import zlib
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from loopwise.collector.server import CollectorConfig
from loopwise.collector.server.decode import JSON, PROTOBUF

MAX_BODY = 16 * 1024


@pytest.fixture(scope="module")
def collector_config(tmp_path_factory: pytest.TempPathFactory) -> CollectorConfig:
    """A collector with a small body limit, so oversized bodies are cheap to build."""
    return CollectorConfig(
        db_path=tmp_path_factory.mktemp("bad-input") / "t.duckdb", port=0, max_body_bytes=MAX_BODY
    )


@pytest.fixture
def valid_body(otlp) -> bytes:
    """A valid protobuf request of three spans (well under the body limit)."""
    trace_id = otlp.trace_id()
    request = otlp.request([otlp.span(f"s{i}", trace_id=trace_id) for i in range(3)])
    return bytes(request.SerializeToString())


def assert_refused(api, response: httpx.Response, status: int) -> None:
    """The response is ``status`` with a readable message; no row was written; the collector
    still answers /health."""
    assert response.status_code == status, response.content
    message = api.error_message(response)
    assert len(message) > 10, message
    assert api.count() == 0
    assert api.healthy()


def test_valid_body_fixture_is_accepted_by_the_parser(valid_body: bytes) -> None:
    """Guards the tests below: they corrupt a body that is itself valid."""
    assert len(ExportTraceServiceRequest.FromString(valid_body).resource_spans) == 1
    assert len(valid_body) < MAX_BODY


@pytest.mark.parametrize("cut", [1, 7], ids=["last-byte", "seven-bytes"])
def test_truncated_protobuf(api, valid_body: bytes, cut: int) -> None:
    response = api.post(valid_body[:-cut], PROTOBUF)
    assert_refused(api, response, 400)
    assert response.headers["content-type"].startswith(PROTOBUF)


@pytest.mark.parametrize(
    "body",
    [random.Random(7).randbytes(512), b"\xff" * 64, b"not a protobuf at all"],
    ids=["random", "ff", "text"],
)
def test_garbage_protobuf(api, body: bytes) -> None:
    assert_refused(api, api.post(body, PROTOBUF), 400)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
def test_wrong_content_type(api, valid_body: bytes, content_type: str | None) -> None:
    response = api.post(valid_body, content_type)
    assert_refused(api, response, 415)
    assert "content type" in api.error_message(response)


def test_oversized_body_with_content_length(api) -> None:
    response = api.post(b"\x0a" * (MAX_BODY + 1), PROTOBUF)
    assert_refused(api, response, 413)


def test_oversized_streamed_body_without_content_length(api) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(8):
            yield b"\x0a" * (MAX_BODY // 4)

    response = api.http.post("/v1/traces", content=chunks(), headers={"Content-Type": PROTOBUF})
    assert "content-length" not in response.request.headers
    assert_refused(api, response, 413)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_small_compressed_body_that_inflates_past_the_limit(api, encoding: str) -> None:
    inflated = b"\x00" * (MAX_BODY * 20)
    body = gzip.compress(inflated) if encoding == "gzip" else zlib.compress(inflated)
    assert len(body) < MAX_BODY

    response = api.post(body, PROTOBUF, headers={"Content-Encoding": encoding})

    assert_refused(api, response, 413)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"resourceSpans": [', b"\xff\xfe\x00garbage", b""],
    ids=["broken", "unterminated", "not-utf8", "zero-byte"],
)
def test_invalid_json(api, body: bytes) -> None:
    response = api.post(body, JSON)
    assert_refused(api, response, 400)
    assert response.headers["content-type"].startswith(JSON)


@pytest.mark.parametrize("document", [[], "resourceSpans", 42, None, True])
def test_json_that_is_not_an_object(api, document: object) -> None:
    assert_refused(api, api.post(json.dumps(document).encode(), JSON), 400)


@pytest.mark.parametrize(
    "document",
    [
        {"resourceSpans": 5},
        {"resourceSpans": [{"scopeSpans": [{"spans": [1]}]}]},
        {"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]},
        {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": 5}]}]}]},
    ],
    ids=["not-a-list", "span-not-object", "time-not-a-number", "id-not-a-string"],
)
def test_json_with_the_wrong_shape(api, document: object) -> None:
    assert_refused(api, api.post(json.dumps(document).encode(), JSON), 400)


@pytest.mark.parametrize(
    "body",
    [
        b'{"resourceSpans": "\\ud800"}',
        b'{"resourceSpans": [{"scopeSpans": [{"\\ud800": 1}]}]}',
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "a\\udfff"}]}]}]}',
        b'{"\\uDBFF": []}',
    ],
    ids=["value", "key", "span-name", "top-level-key"],
)
def test_lone_surrogates_are_a_clean_400_on_a_kept_connection(api, body: bytes) -> None:
    """Once a 500 whose error reply could not be encoded (and a reset connection), or a 503 that
    clients retried for ever."""
    for _ in range(2):  # the same keep-alive connection answers twice
        response = api.post(body, JSON)
        assert_refused(api, response, 400)
        assert "surrogate" in api.error_message(response)
        response.content.decode("utf-8")  # the reply itself is valid UTF-8


@pytest.mark.parametrize("opener", [b"[", b'{"a":'], ids=["arrays", "objects"])
def test_deeply_nested_json(api, opener: bytes) -> None:
    """Nesting past Python's recursion limit is bad input (400), not a server failure."""
    body = opener * 3000
    assert len(body) < MAX_BODY
    assert_refused(api, api.post(body, JSON), 400)


@pytest.mark.parametrize("encoding", [PROTOBUF, JSON])
def test_gzip_header_on_data_that_is_not_gzip(api, valid_body: bytes, encoding: str) -> None:
    body = valid_body if encoding == PROTOBUF else b'{"resourceSpans": []}'
    response = api.post(body, encoding, headers={"Content-Encoding": "gzip"})
    assert_refused(api, response, 400)
    assert "gzip" in api.error_message(response)


def test_truncated_gzip(api, valid_body: bytes) -> None:
    body = gzip.compress(valid_body)[:-12]
    response = api.post(body, PROTOBUF, headers={"Content-Encoding": "gzip"})
    assert_refused(api, response, 400)


def test_unsupported_content_encoding(api, valid_body: bytes) -> None:
    response = api.post(valid_body, PROTOBUF, headers={"Content-Encoding": "br"})
    assert_refused(api, response, 415)


def test_wrong_method_and_unknown_path(api) -> None:
    assert api.http.get("/v1/traces").status_code == 405
    assert api.http.post("/v2/traces", content=b"").status_code == 404
    assert api.count() == 0
    assert api.healthy()


def test_the_collector_still_stores_valid_requests_afterwards(api, otlp) -> None:
    """Runs last in this module: after all the bad input above, a good request works."""
    trace_id = otlp.trace_id()
    api.export_ok(otlp.request([otlp.span("after", trace_id=trace_id)]))
    assert api.count_trace(trace_id) == 1
    health = api.http.get("/health").json()
    assert health["rows_written"] == 1
