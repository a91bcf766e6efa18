"""Two instrumentations of one model call: the later llm row is marked, nothing is dropped.

Spans go through the real path: OTLP requests posted to a running collector, rows read back
through its SQL API.
"""

from __future__ import annotations

import json
from typing import Any

from loopwise.collector.sdk.testing import FIXED_EPOCH_NS as EPOCH_NS

MS = 1_000_000
OPENLLMETRY = {
    "gen_ai.system": "Anthropic",
    "llm.request.type": "chat",
    "gen_ai.request.model": "claude-sonnet-4",
    "gen_ai.response.model": "claude-sonnet-4",
    "gen_ai.usage.prompt_tokens": 120,
    "gen_ai.usage.completion_tokens": 40,
    "gen_ai.prompt.0.role": "user",
    "gen_ai.prompt.0.content": "Summarize the ticket.",
}
NATIVE = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.request.model": "claude-sonnet-4",
    "gen_ai.usage.input_tokens": 120,
    "gen_ai.usage.output_tokens": 40,
}


def rows(api, trace_id: bytes) -> dict[str, dict[str, Any]]:
    found = api.sql(
        "SELECT span_id, name, input_tokens, output_tokens, metadata FROM spans "
        f"WHERE trace_id = '{trace_id.hex()}'"
    )
    return {
        row["span_id"]: {**row, "metadata": json.loads(row["metadata"] or "{}")} for row in found
    }


def test_the_later_of_two_instrumentations_is_marked(api, otlp) -> None:
    trace_id = otlp.trace_id()
    root = otlp.span("handle ticket", trace_id=trace_id, end_ns=EPOCH_NS + 900 * MS)
    first = otlp.span(
        "anthropic.chat",
        trace_id=trace_id,
        parent_span_id=root.span_id,
        start_ns=EPOCH_NS + 10 * MS,
        end_ns=EPOCH_NS + 500 * MS,
        attributes=OPENLLMETRY,
    )
    second = otlp.span(
        "chat claude-sonnet-4",
        trace_id=trace_id,
        parent_span_id=root.span_id,
        start_ns=EPOCH_NS + 12 * MS,
        end_ns=EPOCH_NS + 498 * MS,
        attributes=NATIVE,
    )
    # The later span arrives first, in its own request: the mark is made when its twin lands.
    api.export_ok(otlp.request([second]))
    api.export_ok(otlp.request([root, first]))

    stored = rows(api, trace_id)
    assert len(stored) == 3
    assert stored[second.span_id.hex()]["metadata"]["duplicate_of"] == first.span_id.hex()
    assert "duplicate_of" not in stored[first.span_id.hex()]["metadata"]
    assert "duplicate_of" not in stored[root.span_id.hex()]["metadata"]
    # Nothing is dropped: both rows keep their own tokens.
    assert stored[second.span_id.hex()]["input_tokens"] == 120
    assert stored[first.span_id.hex()]["input_tokens"] == 120


def test_resending_keeps_one_mark(api, otlp) -> None:
    trace_id = otlp.trace_id()
    first = otlp.span("a.chat", trace_id=trace_id, end_ns=EPOCH_NS + 50 * MS, attributes=NATIVE)
    second = otlp.span("b.chat", trace_id=trace_id, start_ns=EPOCH_NS + MS, attributes=OPENLLMETRY)
    request = otlp.request([first, second])
    api.export_ok(request)
    api.export_ok(request)

    stored = rows(api, trace_id)
    assert stored[second.span_id.hex()]["metadata"] == {"duplicate_of": first.span_id.hex()}
    assert stored[first.span_id.hex()]["metadata"] == {}


def test_distinct_calls_are_not_marked(api, otlp) -> None:
    trace_id = otlp.trace_id()
    parent = otlp.span("x.chat", trace_id=trace_id, end_ns=EPOCH_NS + 90 * MS, attributes=NATIVE)
    spans = [
        parent,
        # A child of the other: a wrapper and its call, not two records of one call.
        otlp.span(
            "y.chat",
            trace_id=trace_id,
            parent_span_id=parent.span_id,
            start_ns=EPOCH_NS + MS,
            attributes=OPENLLMETRY,
        ),
        # Other tokens.
        otlp.span(
            "z.chat",
            trace_id=trace_id,
            start_ns=EPOCH_NS + 2 * MS,
            attributes={**OPENLLMETRY, "gen_ai.usage.completion_tokens": 41},
        ),
        # Same tokens, but after the first call ended.
        otlp.span(
            "w.chat",
            trace_id=trace_id,
            start_ns=EPOCH_NS + 200 * MS,
            attributes=OPENLLMETRY,
        ),
    ]
    # A fan-out of identical calls from one instrumentation: same name, same keys.
    fan_out = [
        otlp.span("fan.chat", trace_id=trace_id, start_ns=EPOCH_NS + 300 * MS, attributes=NATIVE)
        for _ in range(2)
    ]
    api.export_ok(otlp.request(spans + fan_out))

    stored = rows(api, trace_id)
    assert len(stored) == 6
    assert all("duplicate_of" not in row["metadata"] for row in stored.values())
