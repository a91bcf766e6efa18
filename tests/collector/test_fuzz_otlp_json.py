"""Property-based fuzzing of the OTLP/JSON receiver on a real collector.

Bodies are OTLP-shaped documents (hex ids good and bad, times as strings, numbers and junk,
attribute values of every type and nesting), the same documents with wrong types put
anywhere, arbitrary JSON, lone surrogate escapes, deep nesting and raw text mutations; gzipped
or not. The properties:

- never a 5xx, and ``/health`` still answers;
- a body that is not JSON, or holds a lone surrogate, is a 400 and stores nothing;
- a 400 stores nothing; a 200 adds only spans the document names, at most the accepted ones;
- for a well-typed OTLP document the reply is exact, by the OTLP/JSON rules: a span is
  stored when its traceId is 32 hex digits and its spanId 16 (neither all zero), its
  parentSpanId is empty or 16 hex digits and it has a start time; every other span is counted
  in ``partial_success.rejected_spans``.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopwise.collector.server.decode import JSON

QUICK = settings(
    max_examples=100,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SLOW = settings(QUICK, max_examples=2000)

texts = st.text(max_size=20)  # surrogates included: they reach the body as \\udXXX escapes
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), texts
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=10,
)

good_hex = {32: st.binary(min_size=16, max_size=16), 16: st.binary(min_size=8, max_size=8)}


def hex_ids(digits: int) -> st.SearchStrategy[Any]:
    """Ids as OTLP/JSON writes them, and ways to get them wrong."""
    return st.one_of(
        good_hex[digits].map(bytes.hex),
        good_hex[digits].map(lambda b: b.hex().upper()),
        st.just("0" * digits),
        st.text("0123456789abcdef", max_size=digits + 3),
        st.text("0123456789abcdefxyz +/=-", min_size=digits, max_size=digits),
        good_hex[digits].map(lambda b: " ".join(b.hex()[i : i + 2] for i in range(0, digits, 2))),
        st.just("AAAAAAAAAAAAAAAAAAAAAA=="),  # base64, as protobuf's own JSON mapping writes
    )


times = st.one_of(
    st.sampled_from(["1767225600000000000", "0", "1", "18446744073709551615"]),
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**64 - 1).map(str),
)
any_value = st.deferred(
    lambda: st.one_of(
        texts.map(lambda s: {"stringValue": s}),
        st.integers(-(2**63), 2**63 - 1).map(lambda i: {"intValue": str(i)}),
        st.integers(-(2**63), 2**63 - 1).map(lambda i: {"intValue": i}),
        st.floats(allow_nan=False, allow_infinity=False).map(lambda f: {"doubleValue": f}),
        st.sampled_from(["NaN", "Infinity", "-Infinity"]).map(lambda f: {"doubleValue": f}),
        st.booleans().map(lambda b: {"boolValue": b}),
        st.sampled_from(["", "AAEC", "/+8="]).map(lambda b: {"bytesValue": b}),
        st.lists(any_value, max_size=3).map(lambda v: {"arrayValue": {"values": v}}),
        st.lists(key_value, max_size=3).map(lambda v: {"kvlistValue": {"values": v}}),
        st.just({}),
    )
)
attribute_keys = (
    st.sampled_from(
        [
            "input.value",
            "output.value",
            "gen_ai.request.model",
            "gen_ai.usage.input_tokens",
            "llm.input_messages",
            "session.id",
            "user.id",
            "loopwise.project",
            "service.name",
            "openinference.span.kind",
            "langfuse.observation.metadata.k",
        ]
    )
    | texts
)
key_value = st.builds(lambda k, v: {"key": k, "value": v}, attribute_keys, any_value)
attributes = st.lists(key_value, max_size=5)


@st.composite
def json_spans(draw: st.DrawFn) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": draw(hex_ids(32)),
        "spanId": draw(hex_ids(16)),
        "name": draw(texts),
        "startTimeUnixNano": draw(times),
        "endTimeUnixNano": draw(times),
        "attributes": draw(attributes),
    }
    parent = draw(st.none() | st.just("") | hex_ids(16))
    if parent is not None:
        span["parentSpanId"] = parent
    if draw(st.booleans()):
        span["kind"] = draw(st.sampled_from([0, 1, 3, "SPAN_KIND_SERVER", 99]))
        span["status"] = {
            "code": draw(st.sampled_from([0, 1, 2, "STATUS_CODE_ERROR"])),
            "message": draw(texts),
        }
        span["events"] = [
            {"name": "exception", "timeUnixNano": draw(times), "attributes": draw(attributes)}
        ]
        span["links"] = [{"traceId": draw(hex_ids(32)), "spanId": draw(hex_ids(16))}]
    return span


otlp_documents = st.builds(
    lambda resources: {"resourceSpans": resources},
    st.lists(
        st.builds(
            lambda attrs, scopes: {"resource": {"attributes": attrs}, "scopeSpans": scopes},
            attributes,
            st.lists(
                st.builds(
                    lambda name, members: {"scope": {"name": name}, "spans": members},
                    texts,
                    st.lists(json_spans(), max_size=3),
                ),
                max_size=2,
            ),
        ),
        max_size=2,
    ),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def wrong_types(draw: st.DrawFn) -> Any:
    """An OTLP document with a few nodes replaced by arbitrary JSON."""
    document = draw(otlp_documents)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(document)))
        if not path:
            return draw(json_values)
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = draw(json_values)
    return document


def _encode(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=True).encode()  # lone surrogates as \\udXXX


raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [
            b'{"resourceSpans": "\\ud800"}',
            b'{"resourceSpans":[{"scopeSpans":[{"\\ud800": 1}]}]}',
            b"[" * 100_000 + b"]" * 100_000,
            b'{"resourceSpans":' * 5000 + b"[]" + b"}" * 5000,
            b"{}",
            b"null",
            b"[]",
            b'""',
            b'{"resourceSpans": null}',
            b'{"resourceSpans": [null]}',
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [null, 1, "x", []]}]}]}',
            b'{"resourceSpans": [], "resourceSpans": 1}',
            b"\xef\xbb\xbf{}",
            b'{"a": 1e999}',
        ]
    ),
    st.tuples(otlp_documents.map(_encode), st.integers(0, 5000), st.binary(max_size=4)).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + len(t[2]) :]
    ),
)

_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_HEX16 = re.compile(r"[0-9a-fA-F]{16}")
_HEX = re.compile(r"[0-9a-fA-F]+")
_salt = itertools.count(1)


def _list(obj: Any, *keys: str) -> list[Any]:
    if isinstance(obj, dict):
        for key in keys:
            if isinstance(obj.get(key), list):
                return obj[key]
    return []


def span_objects(document: Any) -> list[Any]:
    """Every span object the document names, where OTLP/JSON puts spans."""
    return [
        span
        for rs in _list(document, "resourceSpans", "resource_spans")
        for ss in _list(rs, "scopeSpans", "scope_spans")
        for span in _list(ss, "spans")
    ]


def valid_key(span: Any) -> tuple[str, str] | None:
    """(trace_id, span_id) of a span the OTLP/JSON rules say must be stored, else None."""
    if not isinstance(span, dict):
        return None
    trace_id, span_id = span.get("traceId"), span.get("spanId")
    parent = span.get("parentSpanId", "")
    if not (isinstance(trace_id, str) and _HEX32.fullmatch(trace_id) and int(trace_id, 16)):
        return None
    if not (isinstance(span_id, str) and _HEX16.fullmatch(span_id) and int(span_id, 16)):
        return None
    if parent not in ("", None) and not (isinstance(parent, str) and _HEX16.fullmatch(parent)):
        return None
    if not _nanos(span.get("startTimeUnixNano")):
        return None
    return trace_id.lower(), span_id.lower()


def _nanos(value: Any) -> int:
    """A uint64 timestamp as OTLP/JSON writes it (number or decimal string), else 0.

    Anything else makes the whole body undecodable, so no span of it is stored.
    """
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return 0


def fresh_ids(document: Any) -> None:
    """Well-formed hex ids get values unique to this example (equal ids stay equal)."""
    salt = str(next(_salt)).encode()
    for span in span_objects(document):
        if not isinstance(span, dict):
            continue
        for key in ("traceId", "spanId", "parentSpanId"):
            value = span.get(key)
            if (
                isinstance(value, str)
                and len(value) in (16, 32)
                and _HEX.fullmatch(value)
                and int(value, 16)
            ):
                digest = hashlib.blake2b(salt + value.encode(), digest_size=len(value) // 2)
                span[key] = digest.hexdigest()


def holds_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(holds_lone_surrogate(k) or holds_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_lone_surrogate(v) for v in value)
    return False


def _loads(body: bytes) -> tuple[bool, Any]:
    try:
        return True, json.loads(body)
    except (ValueError, RecursionError):
        return False, None


def post_and_check(api, stored, body: bytes, gzipped: bool, *, exact: bool) -> None:
    """Send one body; check the reply and what was stored."""
    ok, document = _loads(body)
    spans = span_objects(document) if ok else []
    keys = {k for k in map(valid_key, spans) if k is not None}
    named = {
        (s["traceId"].lower(), s["spanId"].lower())
        for s in spans
        if isinstance(s, dict)
        and isinstance(s.get("traceId"), str)
        and isinstance(s.get("spanId"), str)
    }
    before_keys = stored.keys(named)
    before = stored.counts()

    headers = {"Content-Encoding": "gzip"} if gzipped else {}
    response = api.post(gzip.compress(body) if gzipped else body, JSON, headers=headers)

    assert response.status_code < 500, (response.status_code, response.content[:300])
    assert response.headers["content-type"].startswith(JSON)
    after = stored.counts()
    if not ok or not isinstance(document, dict) or holds_lone_surrogate(document):
        assert response.status_code == 400, response.content[:300]
    elif exact:  # a well-typed OTLP document is always accepted
        assert response.status_code == 200, response.content[:300]
    if response.status_code != 200:
        assert 400 <= response.status_code < 500
        assert api.error_message(response)
        assert after == before
        return
    reply = api.parse_response(response)
    added = stored.keys(named) - before_keys
    assert after[0] - before[0] == len(added)
    if exact:
        assert reply.partial_success.rejected_spans == len(spans) - len(
            [s for s in spans if valid_key(s)]
        )
        assert added == keys - before_keys
    else:
        assert len(added) <= len(spans) - reply.partial_success.rejected_spans


@pytest.fixture(scope="module")
def stored(collector_server):
    """The collector's store read in process (see test_fuzz_otlp_protobuf.Stored)."""
    store = collector_server.collector.store

    class Stored:
        def counts(self) -> tuple[int, int]:
            row = store.query(
                "SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM traces)"
            ).rows[0]
            return int(row[0]), int(row[1])

        def keys(self, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
            if not keys:
                return set()
            rows = store.query(
                "SELECT trace_id, span_id FROM spans WHERE list_contains($t, trace_id)",
                {"t": sorted({t for t, _ in keys})},
            ).rows
            return {(t, s) for t, s in rows} & keys

    return Stored()


@pytest.fixture(autouse=True, scope="module")
def still_serving(api):
    yield
    assert api.healthy()


@QUICK
@given(document=otlp_documents, gzipped=st.booleans())
def test_otlp_json_documents_store_exactly_the_valid_spans(api, stored, document, gzipped) -> None:
    fresh_ids(document)
    post_and_check(api, stored, _encode(document), gzipped, exact=True)


@QUICK
@given(document=wrong_types() | json_values, gzipped=st.booleans())
def test_wrong_types_anywhere_are_a_400_or_a_200(api, stored, document, gzipped) -> None:
    fresh_ids(document)
    post_and_check(api, stored, _encode(document), gzipped, exact=False)


@QUICK
@given(body=raw_bodies, gzipped=st.booleans())
def test_raw_bodies_are_a_400_or_a_200(api, stored, body, gzipped) -> None:
    post_and_check(api, stored, body, gzipped, exact=False)


@pytest.mark.slow
@pytest.mark.timeout(1500)
@SLOW
@given(document=otlp_documents, gzipped=st.booleans())
def test_otlp_json_documents_long(api, stored, document, gzipped) -> None:
    fresh_ids(document)
    post_and_check(api, stored, _encode(document), gzipped, exact=True)


@pytest.mark.slow
@pytest.mark.timeout(1500)
@SLOW
@given(document=wrong_types() | json_values, body=raw_bodies, gzipped=st.booleans())
def test_wrong_types_and_raw_bodies_long(api, stored, document, body, gzipped) -> None:
    fresh_ids(document)
    post_and_check(api, stored, _encode(document), gzipped, exact=False)
    post_and_check(api, stored, body, gzipped, exact=False)
