"""How Langfuse ids map to loopwise ids, and how patches merge into a span's attributes:
in any order, any number of times, to the same result."""

from __future__ import annotations

import datetime as dt
import itertools

from loopwise.collector.langfuse.ids import observation_hex, root_span_hex, trace_hex
from loopwise.collector.langfuse.models import parse_event
from loopwise.collector.langfuse.patches import observation_patch, root_touch, trace_patch
from loopwise.collector.langfuse.state import CLOCK, apply


def at(seconds: int) -> str:
    return (dt.datetime(2026, 3, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)).isoformat()


def test_hex_ids_are_kept_and_others_hashed_the_same_way_every_time() -> None:
    otel_trace, otel_span = "0AF7651916CD43DD8448EB211C80319C", "B7AD6B7169203331"
    assert trace_hex(otel_trace) == otel_trace.lower()
    assert observation_hex(otel_span) == otel_span.lower()
    uuid_id = "6f1c2b0e-3d4a-4e59-9a7b-0c1d2e3f4a5b"
    assert trace_hex(uuid_id) == trace_hex(uuid_id)
    assert len(trace_hex(uuid_id)) == 32 and len(observation_hex(uuid_id)) == 16
    assert int(trace_hex(uuid_id), 16) and int(observation_hex("x"), 16)
    assert trace_hex("0" * 32) != "0" * 32  # the all-zero id is invalid in OTel: hashed
    assert observation_hex(uuid_id) != trace_hex(uuid_id)[:16]
    assert root_span_hex(trace_hex(uuid_id)) not in (observation_hex(uuid_id), "0" * 16)


def test_patches_merge_to_one_result_in_any_order_and_twice() -> None:
    trace, span = "trace-a", "span-a"
    raw = [
        {
            "id": "1",
            "timestamp": at(1),
            "type": "trace-create",
            "body": {"id": trace, "name": "first", "metadata": {"a": 1}},
        },
        {
            "id": "2",
            "timestamp": at(2),
            "type": "span-create",
            "body": {
                "id": span,
                "traceId": trace,
                "name": "step",
                "startTime": at(2),
                "output": "draft",
                "metadata": {"b": 1},
            },
        },
        {
            "id": "3",
            "timestamp": at(5),
            "type": "span-update",
            "body": {
                "id": span,
                "traceId": trace,
                "output": "final",
                "endTime": at(5),
                "metadata": {"c": 1},
            },
        },
        {
            "id": "4",
            "timestamp": at(7),
            "type": "trace-create",
            "body": {"id": trace, "name": "renamed"},
        },
        {
            "id": "5",
            "timestamp": at(5),
            "type": "span-create",
            "body": {"id": span, "traceId": trace, "output": "same instant, loses"},
        },
    ]
    events = [parse_event(i, item) for i, item in enumerate(raw)]
    patches = []
    for event in events:
        if event.kind.entity == "trace":
            patches.append(trace_patch(event))
        else:
            patch = observation_patch(event)
            patches.extend([patch, root_touch(patch, trace)])

    first: dict[tuple[str, str], dict] | None = None
    for order in itertools.permutations(patches):
        states: dict[tuple[str, str], dict] = {}
        for patch in [*order, *order]:  # every patch applied twice
            states[patch.key] = apply(states.get(patch.key, {}), patch)
        first = first or states
        assert states == first

    root = states[(trace_hex(trace), root_span_hex(trace_hex(trace)))]
    step = states[(trace_hex(trace), observation_hex(span))]
    assert root["langfuse.trace.name"] == "renamed"
    assert root["langfuse.trace.metadata.a"] == "1"
    assert root["langfuse.ingestion.children_start"] == "2026-03-01T00:00:02.000000Z"
    assert root["langfuse.ingestion.children_end"] == "2026-03-01T00:00:05.000000Z"
    assert step["langfuse.observation.output"] == '"final"'  # the update of the same instant
    assert {k for k in step if k.startswith("langfuse.observation.metadata.")} == {
        "langfuse.observation.metadata.b",
        "langfuse.observation.metadata.c",
    }
    assert step[CLOCK]["langfuse.observation.output"] == "2026-03-01T00:00:05.000000Z/1"
