"""Property-based fuzzing of the OTLP/protobuf receiver on a real collector.

Requests are built as ExportTraceServiceRequest messages with arbitrary attribute values,
types and nesting (including every attribute key the semantic-convention mappers read, with
the wrong types), ids of every length, any times, empty and huge strings; some are then
mutated byte by byte, some gzipped. The properties, checked against the official protobuf
parser and the OTLP rules for a valid span (trace id 16 non-zero bytes, span id 8 non-zero
bytes, parent empty or 8 bytes, a start time):

- a body the protobuf library cannot parse gets a 400 and stores nothing;
- any other body gets a 200 whose ``partial_success.rejected_spans`` counts the invalid
  spans, and exactly the valid spans not stored before are added (spans and traces);
- never a 5xx, and ``/health`` still answers.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import re
from pathlib import Path

import pytest
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

import loopwise.collector.semconv as semconv
from loopwise.collector.server.decode import PROTOBUF

QUICK = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SLOW = settings(QUICK, max_examples=3000)

# Every attribute key the mappers look for, read from their source, so new mappings are
# fuzzed too; plus indexed and prefixed forms.
_KEY = re.compile(
    r'"((?:gen_ai|llm|input|output|session|user|loopwise|langfuse|openinference|traceloop|'
    r'logfire|ai|mlflow|service)\.[A-Za-z_.]+)"'
)
_SOURCES = Path(semconv.__file__).parent.glob("*.py")
SEMCONV_KEYS = sorted(
    {key for path in _SOURCES for key in _KEY.findall(path.read_text())}
    | {
        "llm.input_messages.0.message.role",
        "llm.input_messages.0.message.content",
        "llm.output_messages.0.message.content",
        "gen_ai.prompt.0.content",
        "gen_ai.prompt.0.role",
        "gen_ai.completion.0.content",
        "traceloop.association.properties.user_id",
        "langfuse.observation.metadata.x",
        "ai.telemetry.metadata.userId",
        "tag.tags",
        "metadata",
        "session_id",
        "user_id",
        "exception.message",
        "exception.type",
    }
)

# Protobuf strings must be valid UTF-8: no surrogates here (the JSON fuzzer sends those).
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
huge_texts = st.sampled_from([0, 1, 4096, 300_000]).map(lambda n: "é" * n)
keys = st.sampled_from(SEMCONV_KEYS) | texts

scalar_values = st.one_of(
    texts.map(lambda s: AnyValue(string_value=s)),
    huge_texts.map(lambda s: AnyValue(string_value=s)),
    st.sampled_from(
        [
            '{"a": [1, {"b": null}]}',
            "[]",
            "not json {",
            "1e999",
            "NaN",
            "-0",
            "true",
            '[{"role": "user", "content": 5}]',
            '{"role": {"x": 1}}',
            "null",
        ]
    ).map(lambda s: AnyValue(string_value=s)),
    st.booleans().map(lambda b: AnyValue(bool_value=b)),
    st.integers(-(2**63), 2**63 - 1).map(lambda i: AnyValue(int_value=i)),
    st.floats().map(lambda f: AnyValue(double_value=f)),
    st.binary(max_size=40).map(lambda b: AnyValue(bytes_value=b)),
    st.just(AnyValue()),
)


def _array(values: list[AnyValue]) -> AnyValue:
    return AnyValue(array_value=ArrayValue(values=values))


def _kvlist(pairs: list[tuple[str, AnyValue]]) -> AnyValue:
    return AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key=k, value=v) for k, v in pairs]))


any_values = st.recursive(
    scalar_values,
    lambda inner: (
        st.lists(inner, max_size=4).map(_array)
        | st.lists(st.tuples(keys, inner), max_size=4).map(_kvlist)
    ),
    max_leaves=12,
)
attributes = st.lists(
    st.builds(lambda k, v: KeyValue(key=k, value=v), keys, any_values), max_size=8
)
trace_ids = st.one_of(
    st.binary(min_size=16, max_size=16), st.just(bytes(16)), st.binary(max_size=33)
)
span_ids = st.one_of(st.binary(min_size=8, max_size=8), st.just(bytes(8)), st.binary(max_size=17))
parent_ids = st.one_of(st.just(b""), span_ids)
times = st.one_of(
    st.just(0), st.integers(0, 2**64 - 1), st.integers(1767225600 * 10**9, 1767312000 * 10**9)
)


@st.composite
def spans(draw: st.DrawFn) -> Span:
    span = Span(
        trace_id=draw(trace_ids),
        span_id=draw(span_ids),
        parent_span_id=draw(parent_ids),
        name=draw(texts | huge_texts),
        kind=draw(st.integers(-3, 9)),  # type: ignore[arg-type]
        start_time_unix_nano=draw(times),
        end_time_unix_nano=draw(times),
        status=Status(code=draw(st.integers(-1, 4)), message=draw(texts)),  # type: ignore[arg-type]
        trace_state=draw(texts),
        dropped_attributes_count=draw(st.integers(0, 2**32 - 1)),
    )
    span.attributes.extend(draw(attributes))
    for _ in range(draw(st.integers(0, 2))):
        event = span.events.add(name=draw(st.sampled_from(["exception", "gen_ai.choice"]) | texts))
        event.time_unix_nano = draw(times)
        event.attributes.extend(draw(attributes))
    for _ in range(draw(st.integers(0, 1))):
        link = span.links.add(trace_id=draw(trace_ids), span_id=draw(span_ids))
        link.attributes.extend(draw(attributes))
    return span


requests = st.builds(
    lambda resources: ExportTraceServiceRequest(resource_spans=resources),
    st.lists(
        st.builds(
            lambda attrs, scopes: ResourceSpans(
                resource=Resource(attributes=attrs), scope_spans=scopes
            ),
            attributes,
            st.lists(
                st.builds(
                    lambda name, version, members: ScopeSpans(
                        scope=InstrumentationScope(name=name, version=version), spans=members
                    ),
                    texts,
                    texts,
                    st.lists(spans(), max_size=4),
                ),
                max_size=3,
            ),
        ),
        max_size=3,
    ),
)

# Mutations of a valid body: flip, insert, delete or truncate at a position.
mutations = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from(["flip", "insert", "delete", "truncate"]),
        st.integers(0, 10_000),
        st.binary(min_size=1, max_size=6),
    ),
)

_salt = itertools.count(1)


def fresh_ids(request: ExportTraceServiceRequest) -> None:
    """Give every well-formed id a value unique to this example (ids that are equal inside the
    request stay equal, all-zero ids stay zero), so earlier examples cannot collide with it."""
    salt = str(next(_salt)).encode()

    def fresh(value: bytes) -> bytes:
        if len(value) not in (8, 16) or not any(value):
            return value
        return hashlib.blake2b(salt + value, digest_size=len(value)).digest()

    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                span.trace_id = fresh(span.trace_id)
                span.span_id = fresh(span.span_id)
                span.parent_span_id = fresh(span.parent_span_id)


def mutate(body: bytes, mutation: tuple[str, int, bytes] | None) -> bytes:
    if mutation is None:
        return body
    kind, at, data = mutation
    at = at % (len(body) + 1)
    if kind == "flip":
        return body[:at] + bytes(b ^ 0xFF for b in data[:1]) + body[at + 1 :]
    if kind == "insert":
        return body[:at] + data + body[at:]
    if kind == "delete":
        return body[:at] + body[at + len(data) :]
    return body[:at]


def valid(span: Span) -> bool:
    """The OTLP rules for a span the collector must store."""
    return (
        len(span.trace_id) == 16
        and any(span.trace_id)
        and len(span.span_id) == 8
        and any(span.span_id)
        and len(span.parent_span_id) in (0, 8)
        and span.start_time_unix_nano != 0
    )


def all_spans(request: ExportTraceServiceRequest) -> list[Span]:
    return [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]


class Stored:
    """Reads the collector's DuckDB file in process (its own trusted query path), so checking
    what a request stored costs no HTTP round trips."""

    def __init__(self, store) -> None:
        self.store = store

    def counts(self) -> tuple[int, int]:
        row = self.store.query(
            "SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM traces)"
        ).rows[0]
        return int(row[0]), int(row[1])

    def keys(self, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
        if not keys:
            return set()
        traces = sorted({t for t, _ in keys})
        rows = self.store.query(
            "SELECT trace_id, span_id FROM spans WHERE list_contains($t, trace_id)", {"t": traces}
        ).rows
        return {(t, s) for t, s in rows} & keys

    def traces(self, trace_ids: set[str]) -> set[str]:
        if not trace_ids:
            return set()
        rows = self.store.query(
            "SELECT trace_id FROM traces WHERE list_contains($t, trace_id)",
            {"t": sorted(trace_ids)},
        ).rows
        return {r[0] for r in rows}


@pytest.fixture(scope="module")
def stored(collector_server) -> Stored:
    return Stored(collector_server.collector.store)


def send_and_check(
    api, stored: Stored, request: ExportTraceServiceRequest, mutation, gzipped: bool
) -> None:
    """Send one fuzzed body and check the reply and what was stored against the oracle."""
    fresh_ids(request)
    body = mutate(request.SerializeToString(), mutation)
    try:
        parsed: ExportTraceServiceRequest | None = ExportTraceServiceRequest.FromString(body)
    except DecodeError:
        parsed = None
    accepted = [s for s in all_spans(parsed)] if parsed is not None else []
    keys = {(s.trace_id.hex(), s.span_id.hex()) for s in accepted if valid(s)}
    before_keys = stored.keys(keys)
    before_traces = stored.traces({t for t, _ in keys})
    spans_before, traces_before = stored.counts()

    headers = {"Content-Encoding": "gzip"} if gzipped else {}
    response = api.post(gzip.compress(body) if gzipped else body, PROTOBUF, headers=headers)

    assert response.status_code < 500, (response.status_code, response.content[:300])
    spans_after, traces_after = stored.counts()
    if parsed is None:
        assert response.status_code == 400, response.content[:300]
        assert api.error_message(response)
        assert (spans_after, traces_after) == (spans_before, traces_before)
        return
    assert response.status_code == 200, response.content[:300]
    reply = api.parse_response(response)
    invalid = sum(not valid(s) for s in accepted)
    assert reply.partial_success.rejected_spans == invalid
    new_keys = keys - before_keys
    assert spans_after - spans_before == len(new_keys)
    assert stored.keys(keys) == keys
    new_traces = {t for t, _ in keys} - before_traces
    assert traces_after - traces_before == len(new_traces)


@pytest.fixture(autouse=True, scope="module")
def still_serving(api):
    """After all the fuzzing, the collector still answers."""
    yield
    assert api.healthy()


@QUICK
@given(request=requests, mutation=mutations, gzipped=st.booleans())
def test_fuzzed_protobuf_bodies_get_4xx_or_200_and_store_exactly_the_valid_spans(
    api, stored, request, mutation, gzipped
) -> None:
    send_and_check(api, stored, request, mutation, gzipped)


@QUICK
@given(body=st.binary(max_size=300), gzipped=st.booleans())
def test_random_bytes_are_a_400_or_a_200(api, stored, body, gzipped) -> None:
    try:
        parsed = ExportTraceServiceRequest.FromString(body)
    except DecodeError:
        parsed = None
    before = stored.counts()
    headers = {"Content-Encoding": "gzip"} if gzipped else {}
    response = api.post(gzip.compress(body) if gzipped else body, PROTOBUF, headers=headers)
    assert response.status_code in (200, 400), (response.status_code, response.content[:300])
    assert (response.status_code == 400) == (parsed is None)
    if parsed is None or not any(valid(s) for s in all_spans(parsed)):
        assert stored.counts() == before


@pytest.mark.slow
@pytest.mark.timeout(1500)
@SLOW
@given(request=requests, mutation=mutations, gzipped=st.booleans())
def test_fuzzed_protobuf_bodies_long(api, stored, request, mutation, gzipped) -> None:
    send_and_check(api, stored, request, mutation, gzipped)
