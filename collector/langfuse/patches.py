"""Langfuse events as patches of span attributes.

A Langfuse trace becomes a root span (``ids.root_span_hex``) and each observation a span
under it (or under its ``parentObservationId``). Both are stored as the attributes the
Langfuse SDK v3 and later send over OTLP (``langfuse.trace.*``, ``langfuse.observation.*``,
read by ``semconv/langfuse.py``), plus ``langfuse.ingestion.*`` keys for what OTLP carries
outside attributes (name, times). An event becomes a ``Patch`` of those attributes, stamped
with when it happened; ``state.py`` merges patches into what is stored.

Values are what the v3 SDK would send: input, output, model parameters, usage and cost as
JSON text, metadata flattened to one JSON-encoded key per entry
(``langfuse.observation.metadata.<key>``; a metadata that is not an object, or has more than
``MAX_METADATA_KEYS`` entries, is one key). ``usage`` (legacy, Langfuse's or OpenAI's keys)
becomes ``usage_details`` and ``cost_details`` when the event has none of those; usage in a
unit other than tokens is kept as it came (``langfuse.ingestion.usage``) and counts no tokens.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..semconv.values import to_json
from .ids import observation_hex, root_span_hex, trace_hex
from .models import GenerationBody, ParsedEvent, SpanBody, TraceBody, Usage

MAX_METADATA_KEYS = 200
# Keys of loopwise's own (not in the Langfuse SDK's OTLP attributes).
# Times are fixed-width UTC text (``stamp``), which sorts as the times do; as numbers of
# µs the redaction pass would take some for card numbers.
ROOT = "langfuse.ingestion.trace_root"  # True on the span that stands for a Langfuse trace
NAME = "langfuse.ingestion.name"
START = "langfuse.ingestion.start_time"  # startTime (a trace's timestamp)
END = "langfuse.ingestion.end_time"
FIRST_SEEN = "langfuse.ingestion.first_seen"  # earliest event: the start when none is sent
CHILDREN_START = "langfuse.ingestion.children_start"  # a root's observations, earliest start
CHILDREN_END = "langfuse.ingestion.children_end"  # ... and latest end
USAGE = "langfuse.ingestion.usage"
TRACE_ID = "langfuse.trace.id"
OBSERVATION_ID = "langfuse.observation.id"
PARENT_ID = "langfuse.observation.parent_id"
TYPE = "langfuse.observation.type"
LEVEL = "langfuse.observation.level"
STATUS_MESSAGE = "langfuse.observation.status_message"
TRACE_NAME = "langfuse.trace.name"


@dataclass
class Patch:
    """Attribute changes one event makes to one span.

    ``values`` are set when the event is newer than the value stored (``clock``: the
    event's ``stamp`` and ``/0`` for a create, ``/1`` for an update, so an update wins over a
    create of the same instant); ``lows`` and ``highs`` keep the smallest and largest value
    seen.
    ``trace_id`` is None for an update that names no trace (found from the stored span)."""

    event: int
    trace_id: str | None
    span_id: str
    clock: str
    values: dict[str, Any] = field(default_factory=dict)
    lows: dict[str, str] = field(default_factory=dict)
    highs: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        """(trace id, span id) of the span patched; only once the trace is known."""
        if self.trace_id is None:
            raise ValueError("the patch's trace is not known yet")
        return self.trace_id, self.span_id


def stamp(moment: dt.datetime) -> str:
    """``moment`` (aware, after 1970) as ``2026-01-01T00:00:00.000000Z``: fixed width, so
    comparing the text compares the times."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch_us(text: Any) -> int | None:
    """A ``stamp`` as µs since the epoch (None when ``text`` is not one)."""
    if not isinstance(text, str):
        return None
    try:
        moment = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def clock_of(event: ParsedEvent) -> str:
    """When ``event`` happened, as the patches it makes are stamped."""
    return f"{stamp(event.timestamp)}/{1 if event.kind.update else 0}"


def trace_patch(event: ParsedEvent) -> Patch:
    """The root span's patch for a ``trace-create`` (its ``id`` defaults to the event's)."""
    body: TraceBody = event.body
    langfuse_id = body.id or event.id
    trace_id = trace_hex(langfuse_id)
    patch = Patch(event.index, trace_id, root_span_hex(trace_id), clock_of(event))
    patch.lows[FIRST_SEEN] = stamp(event.timestamp)
    values = patch.values
    values[ROOT] = True
    values[TRACE_ID] = langfuse_id
    _set(values, TRACE_NAME, body.name)
    _set(values, "langfuse.user.id", body.userId)
    _set(values, "langfuse.session.id", body.sessionId)
    if body.tags is not None:
        values["langfuse.trace.tags"] = list(body.tags)
    _set_json(values, "langfuse.trace.input", body.input)
    _set_json(values, "langfuse.trace.output", body.output)
    _set_metadata(values, "langfuse.trace.metadata", body.metadata)
    _set(values, "langfuse.release", body.release)
    _set(values, "langfuse.version", body.version)
    _set(values, "langfuse.environment", body.environment)
    _set(values, "langfuse.trace.public", body.public)
    if body.timestamp is not None:
        values[START] = stamp(body.timestamp)
    return patch


def observation_patch(event: ParsedEvent) -> Patch:
    """The patch of the observation an event creates or updates (a create's ``id``
    defaults to the event's, so a resent create lands on the same span)."""
    body: SpanBody = event.body
    langfuse_id = body.id or event.id
    trace_id = trace_hex(body.traceId) if body.traceId is not None else None
    patch = Patch(event.index, trace_id, observation_hex(langfuse_id), clock_of(event))
    patch.lows[FIRST_SEEN] = stamp(event.timestamp)
    values = patch.values
    values[OBSERVATION_ID] = langfuse_id
    kind = event.kind.observation_type or str(getattr(body, "type", "span")).lower()
    values[TYPE] = kind
    _set(values, TRACE_ID, body.traceId)
    _set(values, PARENT_ID, body.parentObservationId)
    _set(values, NAME, body.name)
    if body.startTime is not None:
        values[START] = stamp(body.startTime)
    end_time = getattr(body, "endTime", None)
    if end_time is not None:
        values[END] = stamp(end_time)
    _set_json(values, "langfuse.observation.input", body.input)
    _set_json(values, "langfuse.observation.output", body.output)
    _set_metadata(values, "langfuse.observation.metadata", body.metadata)
    _set(values, LEVEL, body.level)
    _set(values, STATUS_MESSAGE, body.statusMessage)
    _set(values, "langfuse.version", body.version)
    _set(values, "langfuse.environment", body.environment)
    if isinstance(body, GenerationBody):
        _generation(values, body)
    return patch


def root_touch(patch: Patch, trace_langfuse_id: str | None) -> Patch:
    """The patch an observation makes to its trace's root span: the root exists (even
    before its ``trace-create`` arrives) and spans its observations' times."""
    trace_id = patch.key[0]
    touch = Patch(patch.event, trace_id, root_span_hex(trace_id), patch.clock)
    touch.values[ROOT] = True
    if trace_langfuse_id is not None:
        touch.values[TRACE_ID] = trace_langfuse_id
    first_seen = patch.lows[FIRST_SEEN]
    start = patch.values.get(START, first_seen)
    touch.lows[FIRST_SEEN] = first_seen
    touch.lows[CHILDREN_START] = start
    touch.highs[CHILDREN_END] = max(patch.values.get(END, start), start)
    return touch


def _generation(values: dict[str, Any], body: GenerationBody) -> None:
    _set(values, "langfuse.observation.model.name", body.model)
    _set_json(values, "langfuse.observation.model.parameters", body.modelParameters)
    if body.completionStartTime is not None:
        values["langfuse.observation.completion_start_time"] = stamp(body.completionStartTime)
    _set(values, "langfuse.observation.prompt.name", body.promptName)
    _set(values, "langfuse.observation.prompt.version", body.promptVersion)
    usage = body.usage
    if body.usageDetails is not None:
        details = {k: v for k, v in body.usageDetails.items() if v is not None}
        values["langfuse.observation.usage_details"] = to_json(details)
    elif usage is not None:
        tokens = _usage_tokens(usage)
        if tokens is not None:
            values["langfuse.observation.usage_details"] = to_json(tokens)
        else:
            values[USAGE] = to_json(usage.model_dump(exclude_none=True))
    if body.costDetails is not None:
        costs = {k: v for k, v in body.costDetails.items() if v is not None}
        values["langfuse.observation.cost_details"] = to_json(costs)
    elif usage is not None:
        costs = {
            name: value
            for name, value in (
                ("input", usage.inputCost),
                ("output", usage.outputCost),
                ("total", usage.totalCost),
            )
            if value is not None
        }
        if costs:
            values["langfuse.observation.cost_details"] = to_json(costs)


def _usage_tokens(usage: Usage) -> dict[str, int] | None:
    """Token counts in Langfuse's keys, or None when the usage is in another unit (or
    holds no count)."""
    if usage.promptTokens is not None or usage.completionTokens is not None:
        found = {"input": usage.promptTokens, "output": usage.completionTokens}
        found["total"] = usage.totalTokens
    elif usage.totalTokens is not None:
        found = {"total": usage.totalTokens}
    elif usage.unit in (None, "TOKENS"):
        found = {"input": usage.input, "output": usage.output, "total": usage.total}
    else:
        return None
    counts = {name: count for name, count in found.items() if count is not None}
    return counts or None


def _set(values: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        values[key] = value


def _set_json(values: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        values[key] = to_json(value)


def _set_metadata(values: dict[str, Any], prefix: str, metadata: Any) -> None:
    if metadata is None:
        return
    if isinstance(metadata, dict) and len(metadata) <= MAX_METADATA_KEYS:
        for name, value in metadata.items():
            values[f"{prefix}.{name}"] = to_json(value)
    else:
        values[prefix] = to_json(metadata)
