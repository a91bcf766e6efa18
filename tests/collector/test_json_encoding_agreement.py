"""OTLP/JSON and OTLP/protobuf give the same result for the same span, good or bad."""

from __future__ import annotations

import json

import pytest

from loopwise.collector.server.decode import JSON


def json_body(span: dict[str, object]) -> bytes:
    """One span in an OTLP/JSON request (start and end times filled in)."""
    timed = {"startTimeUnixNano": "1767225600000000000", "endTimeUnixNano": "1767225601000000000"}
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [timed | span]}]}]}).encode()


def test_a_valid_surrogate_pair_escape_is_text(api, otlp) -> None:
    trace_id = otlp.trace_id()
    body = json_body(
        {"traceId": trace_id.hex(), "spanId": otlp.span_id().hex(), "name": "\U0001f600"}
    )
    assert b"\\ud83d" in body  # json.dumps escapes it as a surrogate pair

    response = api.post(body, JSON)

    assert response.status_code == 200, response.content
    assert api.sql(f"SELECT name FROM spans WHERE trace_id = '{trace_id.hex()}'") == [
        {"name": "\U0001f600"}
    ]


@pytest.mark.parametrize(
    "parent", ["zz" * 8, "abc", "12" * 4, "12" * 9], ids=["non-hex", "odd", "short", "long"]
)
def test_a_bad_parent_span_id_is_rejected_in_json_as_in_protobuf(api, otlp, parent: str) -> None:
    """Once a non-hex parentSpanId silently made the span a root in JSON only."""
    trace_id = otlp.trace_id()
    span = {
        "traceId": trace_id.hex(),
        "spanId": otlp.span_id().hex(),
        "name": "child",
        "parentSpanId": parent,
    }
    from_json = api.parse_response(api.post(json_body(span), JSON))

    try:
        raw_parent = bytes.fromhex(parent)
    except ValueError:
        raw_parent = parent.encode()
    request = otlp.request([otlp.span("child", trace_id=trace_id, parent_span_id=raw_parent)])
    from_protobuf = api.parse_response(api.export(request))

    for reply in (from_json, from_protobuf):
        assert reply.partial_success.rejected_spans == 1
        assert "parent_span_id" in reply.partial_success.error_message
    assert api.count_trace(trace_id) == 0


def test_an_empty_parent_span_id_is_a_root_in_both(api, otlp) -> None:
    trace_id = otlp.trace_id()
    span = {
        "traceId": trace_id.hex(),
        "spanId": otlp.span_id().hex(),
        "name": "root",
        "parentSpanId": "",
    }
    assert api.parse_response(api.post(json_body(span), JSON)).partial_success.rejected_spans == 0
    assert api.sql(f"SELECT parent_span_id FROM spans WHERE trace_id = '{trace_id.hex()}'") == [
        {"parent_span_id": None}
    ]


@pytest.mark.parametrize("field", ["traceId", "spanId", "parentSpanId"])
def test_hex_ids_with_whitespace_are_rejected(api, otlp, field: str) -> None:
    """Found by test_fuzz_otlp_json.py: bytes.fromhex skips spaces, so "01 02 ..." was stored
    as a valid id in JSON, which no protobuf client can send."""
    trace_id, span_id, parent_id = otlp.trace_id(), otlp.span_id(), otlp.span_id()
    ids = {"traceId": trace_id, "spanId": span_id, "parentSpanId": parent_id}
    span: dict[str, object] = {key: value.hex() for key, value in ids.items()} | {"name": "s"}
    span[field] = " ".join(f"{byte:02x}" for byte in ids[field])

    reply = api.parse_response(api.post(json_body(span), JSON))

    assert reply.partial_success.rejected_spans == 1
    assert api.count_trace(trace_id) == 0
