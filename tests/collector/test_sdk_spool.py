"""The SDK's spool: spans written while the collector is away are the OTLP request the official
encoder makes, byte for byte (written directly, or by the official encoder for values the
direct writer does not take), and the spool stays under its cap without listing itself on
every write."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)

from loopwise.collector.sdk import SpoolingExporter
from loopwise.collector.sdk.otlp_bytes import encode_request


def official(spans: Sequence[ReadableSpan]) -> bytes:
    """The request as the official OTLP encoder serializes it."""
    return bytes(encode_spans(spans).SerializeToString())


@pytest.fixture
def finished() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """A provider whose finished spans are kept in memory."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "spool", "n": 3}, schema_url="https://r")
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield provider, memory
    provider.shutdown()


def test_every_part_of_a_span_is_written_as_the_official_encoder_writes_it(finished) -> None:
    provider, memory = finished
    tracer = provider.get_tracer("a", "1.0", schema_url="https://scope")
    other_scope = provider.get_tracer("b")
    remote = SpanContext(
        5, 6, is_remote=True, trace_flags=TraceFlags(1), trace_state=TraceState([("k", "v")])
    )
    values: dict[str, Any] = {
        "empty": "",
        "text": "héllo ✓ " * 40,
        "no": False,
        "zero": 0,
        "negative": -5,
        "big": 2**63 - 1,
        "smallest": -(2**63),
        "float": 1.5,
        "nan": float("nan"),
        "bytes": b"\x00\x01",
        "texts": ["a", "b"],
        "numbers": [1, -2, 3.5],
        "none_of_them": [],
        "mapping": {"x": 1, "y": {"z": [True, None]}},
    }
    with tracer.start_as_current_span("root", attributes=values) as root:
        root.add_event("event", {"a": 1}, timestamp=123)
        root.add_event("")
        links = [Link(remote, {"link": "x"}), Link(SpanContext(7, 8, is_remote=False))]
        with other_scope.start_as_current_span("child", kind=SpanKind.CLIENT, links=links) as c:
            c.set_status(Status(StatusCode.ERROR, "boom"))
            c.record_exception(ValueError("bad"))
    parent = trace.set_span_in_context(NonRecordingSpan(remote))
    with tracer.start_span("remote child", context=parent, kind=SpanKind.SERVER) as span:
        span.set_status(StatusCode.OK)
    spans = list(memory.get_finished_spans())
    elsewhere = TracerProvider()  # a second resource, and an equal but distinct one
    again = TracerProvider(resource=provider.resource.merge(Resource.get_empty()))
    for extra in (elsewhere, again):
        extra_memory = InMemorySpanExporter()
        extra.add_span_processor(SimpleSpanProcessor(extra_memory))
        with extra.get_tracer("c").start_as_current_span("other", kind=SpanKind.CONSUMER):
            pass
        spans += extra_memory.get_finished_spans()
        extra.shutdown()

    assert len(spans) == 5
    assert again.resource == provider.resource and again.resource is not provider.resource
    assert encode_request(spans) == official(spans)
    assert encode_request([]) == official([])


scalars = (
    st.none()
    | st.booleans()
    | st.text()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats()
    | st.binary()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(min_size=1), inner),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(attributes=st.dictionaries(st.text(min_size=1), values, max_size=6), name=st.text())
def test_any_attribute_values_are_written_as_the_official_encoder_writes_them(
    attributes: dict[str, Any], name: str
) -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span(name, attributes=attributes) as span:
        span.add_event("e", attributes)
    spans = memory.get_finished_spans()

    assert encode_request(spans) == official(spans)


def spool_once(spool: Path, port: int, spans: Sequence[ReadableSpan]) -> bytes:
    """Export ``spans`` to a collector that is away; the one spooled request."""
    exporter = SpoolingExporter(
        f"http://127.0.0.1:{port}", spool, timeout_s=0.2, retry_interval_s=3600
    )
    try:
        assert exporter.export(spans) == SpanExportResult.SUCCESS
        [path] = exporter.spooled_files()
        return path.read_bytes()
    finally:
        exporter.shutdown()


def test_spooled_requests_are_the_official_encoding(
    finished, free_port: int, tmp_path: Path
) -> None:
    provider, memory = finished
    with provider.get_tracer("t").start_as_current_span("s", attributes={"a": [1, 2]}):
        pass

    assert spool_once(tmp_path, free_port, memory.get_finished_spans()) == official(
        memory.get_finished_spans()
    )


def test_a_value_the_direct_writer_refuses_is_spooled_as_the_official_encoder_does(
    finished, free_port: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    provider, memory = finished
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attribute("huge", 2**70)  # past int64: the official encoder drops it
        span.set_attribute("kept", "yes")
    spans = memory.get_finished_spans()
    with pytest.raises(ValueError, match="int64"):
        encode_request(spans)

    with caplog.at_level(logging.DEBUG, logger="loopwise.sdk"):
        body = spool_once(tmp_path, free_port, spans)
    assert body == official(spans)
    assert b"kept" in body and b"huge" not in body
    assert "using the OTLP encoder" in caplog.text


def ended_span(finished: tuple[TracerProvider, InMemorySpanExporter], name: str) -> ReadableSpan:
    """One finished span carrying a kilobyte of input."""
    provider, memory = finished
    with provider.get_tracer("t").start_as_current_span(name, attributes={"in": "x" * 1000}):
        pass
    return memory.get_finished_spans()[-1]


def span_names(body: bytes) -> list[str]:
    """The names of the spans in a spooled request."""
    request = ExportTraceServiceRequest.FromString(body)
    return [s.name for r in request.resource_spans for g in r.scope_spans for s in g.spans]


def test_the_spool_is_listed_once_not_on_every_write(
    finished, free_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listings = []
    original = SpoolingExporter.spooled_files

    def counted(self: SpoolingExporter) -> list[Path]:
        listings.append(1)
        return original(self)

    monkeypatch.setattr(SpoolingExporter, "spooled_files", counted)
    exporter = SpoolingExporter(
        f"http://127.0.0.1:{free_port}", tmp_path, timeout_s=0.2, retry_interval_s=3600
    )
    try:
        for n in range(20):
            assert exporter.export([ended_span(finished, f"s{n}")]) == SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()

    assert len(listings) == 1
    assert len(original(exporter)) == 20


def test_the_spool_stays_under_its_cap_dropping_the_oldest_requests(
    finished, free_port: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    one = len(official([ended_span(finished, "size")]))
    exporter = SpoolingExporter(
        f"http://127.0.0.1:{free_port}",
        tmp_path,
        timeout_s=0.2,
        retry_interval_s=3600,
        max_spool_bytes=5 * one,
    )
    try:
        for n in range(12):
            exporter.export([ended_span(finished, f"s{n:02d}")])
    finally:
        exporter.shutdown()

    spooled = exporter.spooled_files()
    assert len(spooled) == 5
    assert sum(path.stat().st_size for path in spooled) <= 5 * one
    assert [name for path in spooled for name in span_names(path.read_bytes())] == [
        "s07",
        "s08",
        "s09",
        "s10",
        "s11",
    ]
    assert "dropping the oldest request" in caplog.text
