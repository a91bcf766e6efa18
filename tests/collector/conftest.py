"""Shared fixtures for the collector and SDK tests.

Everything is real: the collector runs as an HTTP server on 127.0.0.1 with its own DuckDB file,
requests are built with the opentelemetry-proto classes and sent with httpx. One collector
serves a whole test module (``collector_server``); modules that need other settings override
the ``collector_config`` fixture. Tests stay independent by using fresh trace ids and project
names (``otlp.trace_id()``, ``unique_project``).
"""

from __future__ import annotations

import gzip
import itertools
import json
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from google.rpc.status_pb2 import Status as RpcStatus
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from loopwise.collector.sdk.testing import FIXED_EPOCH_NS as EPOCH_NS
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.server.decode import PROTOBUF

# Test modules cannot import this file (pytest runs with --import-mode=importlib), so every
# helper is reached through a fixture. Hand-built spans start at EPOCH_NS (2026-01-01 UTC).

_unique = itertools.count(1)


def pick_free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def any_value(value: object) -> AnyValue:
    """An OTLP ``AnyValue`` holding ``value`` (str, bool, int, float, bytes, list or dict)."""
    out = AnyValue()
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, bytes):
        out.bytes_value = value
    elif isinstance(value, list | tuple):
        out.array_value.values.extend(any_value(item) for item in value)
    elif isinstance(value, Mapping):
        out.kvlist_value.values.extend(key_values(value))
    else:
        raise TypeError(f"no OTLP AnyValue for {type(value).__name__}")
    return out


def key_values(attributes: Mapping[str, object]) -> list[KeyValue]:
    """OTLP key-value pairs for a plain attribute dict."""
    return [KeyValue(key=key, value=any_value(value)) for key, value in attributes.items()]


class OtlpBuilder:
    """Builds raw OTLP trace requests with fresh, unique ids."""

    def trace_id(self) -> bytes:
        """A trace id (16 bytes) no other test uses."""
        return (0x10_0000_0000 + next(_unique)).to_bytes(16, "big")

    def span_id(self) -> bytes:
        """A span id (8 bytes) no other test uses."""
        return (0x20_0000_0000 + next(_unique)).to_bytes(8, "big")

    def span(
        self,
        name: str,
        *,
        trace_id: bytes,
        span_id: bytes | None = None,
        parent_span_id: bytes = b"",
        start_ns: int = EPOCH_NS,
        end_ns: int | None = None,
        attributes: Mapping[str, object] | None = None,
        status_code: int = Status.STATUS_CODE_UNSET,
        status_message: str = "",
        kind: int = Span.SPAN_KIND_INTERNAL,
    ) -> Span:
        """One span; it ends 1 ms after it starts unless ``end_ns`` says otherwise."""
        span = Span(
            trace_id=trace_id,
            span_id=span_id if span_id is not None else self.span_id(),
            parent_span_id=parent_span_id,
            name=name,
            kind=kind,  # type: ignore[arg-type]
            start_time_unix_nano=start_ns,
            end_time_unix_nano=end_ns if end_ns is not None else start_ns + 1_000_000,
            status=Status(code=status_code, message=status_message),  # type: ignore[arg-type]
        )
        span.attributes.extend(key_values(attributes or {}))
        return span

    def request(
        self,
        spans: Sequence[Span],
        *,
        resource: Mapping[str, object] | None = None,
        project: str | None = None,
    ) -> ExportTraceServiceRequest:
        """A request holding ``spans`` under one resource (``project`` sets loopwise.project)."""
        attributes: dict[str, object] = {"service.name": "tests", **(resource or {})}
        if project is not None:
            attributes["loopwise.project"] = project
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(key_values(attributes))
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = "tests"
        scope_spans.spans.extend(spans)
        return request


class CollectorApi:
    """An HTTP client for one running collector: OTLP posts, the JSON API, row counts."""

    def __init__(self, base_url: str, headers: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, headers=dict(headers or {}), timeout=30.0)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def post(
        self,
        body: bytes,
        content_type: str | None = PROTOBUF,
        *,
        path: str = "/v1/traces",
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST a raw body to an OTLP path."""
        sent = dict(headers or {})
        if content_type is not None:
            sent["Content-Type"] = content_type
        return self.http.post(path, content=body, headers=sent)

    def export(
        self,
        request: ExportTraceServiceRequest,
        *,
        path: str = "/v1/traces",
        gzipped: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST a request as protobuf (optionally gzipped)."""
        body = request.SerializeToString()
        sent = dict(headers or {})
        if gzipped:
            body = gzip.compress(body)
            sent["Content-Encoding"] = "gzip"
        return self.post(body, PROTOBUF, path=path, headers=sent)

    def export_ok(self, request: ExportTraceServiceRequest) -> ExportTraceServiceResponse:
        """POST a protobuf request, require 200 and return the parsed response."""
        response = self.export(request)
        assert response.status_code == 200, response.content
        reply = ExportTraceServiceResponse()
        reply.ParseFromString(response.content)
        return reply

    def sql(self, query: str) -> list[dict[str, Any]]:
        """Rows of one SELECT through POST /api/sql, as dicts (requires 200)."""
        response = self.http.post("/api/sql", json={"sql": query})
        assert response.status_code == 200, response.text
        payload = response.json()
        return [dict(zip(payload["columns"], row, strict=True)) for row in payload["rows"]]

    def count(self, where: str = "true") -> int:
        """How many stored spans match the SQL condition ``where``."""
        return int(self.sql(f"SELECT count(*) AS n FROM spans WHERE {where}")[0]["n"])

    def count_trace(self, trace_id: bytes) -> int:
        """How many spans of one trace are stored."""
        return self.count(f"trace_id = '{trace_id.hex()}'")

    def healthy(self) -> bool:
        """True when GET /health answers 200 with status ok."""
        response = self.http.get("/health")
        return response.status_code == 200 and response.json()["status"] == "ok"

    @staticmethod
    def error_message(response: httpx.Response) -> str:
        """The human-readable message of an error response (OTLP Status or ``{"error": ...}``)."""
        content_type = response.headers.get("content-type", "")
        if content_type.startswith(PROTOBUF):
            status = RpcStatus()
            status.ParseFromString(response.content)
            return str(status.message)
        payload = json.loads(response.content)
        assert isinstance(payload, dict), payload
        return str(payload.get("message") or payload.get("error") or "")

    @staticmethod
    def parse_response(response: httpx.Response) -> ExportTraceServiceResponse:
        """The ExportTraceServiceResponse in a 200 answer, in whichever encoding it came."""
        reply = ExportTraceServiceResponse()
        if response.headers["content-type"].startswith(PROTOBUF):
            reply.ParseFromString(response.content)
        else:
            json_format.Parse(response.text, reply)
        return reply


@pytest.fixture(scope="module")
def collector_config(tmp_path_factory: pytest.TempPathFactory) -> CollectorConfig:
    """Settings of the module's collector: a fresh DuckDB file and a free port.

    Override this fixture in a test module for other limits or an API key.
    """
    return CollectorConfig(db_path=tmp_path_factory.mktemp("collector") / "t.duckdb", port=0)


@pytest.fixture(scope="module")
def collector_server(collector_config: CollectorConfig) -> Iterator[CollectorServer]:
    """A real collector on 127.0.0.1, shared by the tests of one module."""
    with CollectorServer(collector_config) as server:
        yield server


@pytest.fixture(scope="module")
def make_api(collector_server: CollectorServer) -> Iterator[Callable[..., CollectorApi]]:
    """Makes HTTP clients for the module's collector (``make_api(headers={...})``)."""
    made: list[CollectorApi] = []

    def make(headers: Mapping[str, str] | None = None) -> CollectorApi:
        made.append(CollectorApi(collector_server.url, headers))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture(scope="module")
def api(make_api: Callable[..., CollectorApi]) -> CollectorApi:
    """An HTTP client for the module's collector."""
    return make_api()


@pytest.fixture(scope="session")
def otlp() -> OtlpBuilder:
    """A builder of raw OTLP requests; its ids are unique across the whole run."""
    return OtlpBuilder()


@pytest.fixture
def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    return pick_free_port()


@pytest.fixture
def unique_project(request: pytest.FixtureRequest) -> str:
    """A project name that belongs to this test alone."""
    return f"{request.node.name}-{next(_unique)}"
