"""OTLP trace requests → normalized span rows (an Arrow table in the ``spans`` schema)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from ..pricing import PriceTable
from ..store.schema import SPAN_ARROW_SCHEMA, SPAN_COLUMN_NAMES
from . import (
    genai,
    genai_events,
    langfuse,
    logfire,
    mlflow,
    openinference,
    openllmetry,
    pydantic_ai,
    vercel,
)
from .fields import Resolved, first_str
from .values import key_values, to_json

Convention = Callable[[dict[str, Any], Resolved], None]
# Conventions in priority order: the first one that fills a field wins. Message span events
# (genai_events) come after all of them. See docs/design-notes.md, "Conventions".
CONVENTIONS: tuple[Convention, ...] = (
    pydantic_ai.resolve,  # before genai: its agent span's messages are not GenAI keys
    genai.resolve,
    openinference.resolve,
    langfuse.resolve,
    openllmetry.resolve,
    vercel.resolve,
    mlflow.resolve,
    logfire.resolve,
)
# The conventions other than genai and openinference read only spans carrying one of their
# marker keys; one set check skips all of them for the (usual) span that carries none.
MARKED: dict[Convention, frozenset[str]] = {
    pydantic_ai.resolve: frozenset(pydantic_ai.MARKERS),
    langfuse.resolve: frozenset(langfuse.MARKERS),
    openllmetry.resolve: frozenset(openllmetry.MARKERS),
    vercel.resolve: frozenset(vercel.MARKERS),
    mlflow.resolve: frozenset(mlflow.MARKERS),
    logfire.resolve: frozenset(logfire.MARKERS),
}
ANY_MARKER = frozenset().union(*MARKED.values())

PROJECT_RESOURCE_KEYS = ("loopwise.project", "openinference.project.name", "project.name")
DEFAULT_PROJECT = "default"
MAX_REASONS = 20
MAX_WARNING_SAMPLES = 5
# Attributes whose string value may be the input/output column verbatim (see
# _lift_copied_text): a convention that copies one records it in Resolved.input_key.
LIFTABLE_INPUT_KEYS = frozenset(
    {
        "input.value",
        "gen_ai.tool.call.arguments",
        "gen_ai.retrieval.query.text",
        "traceloop.entity.input",
        "langfuse.observation.input",
        "langfuse.trace.input",
        "mlflow.spanInputs",
        "ai.toolCall.args",
        "ai.toolCall.input",
    }
)
LIFTABLE_OUTPUT_KEYS = frozenset(
    {
        "output.value",
        "gen_ai.tool.call.result",
        "gen_ai.retrieval.documents",
        "traceloop.entity.output",
        "langfuse.observation.output",
        "langfuse.trace.output",
        "mlflow.spanOutputs",
        "ai.response.object",
        "ai.toolCall.result",
        "ai.toolCall.output",
    }
)

_STATUS = {Status.STATUS_CODE_OK: "ok", Status.STATUS_CODE_ERROR: "error"}


@dataclass
class NormalizedBatch:
    """The rows decoded from one request, the spans that could not be stored, and the
    spans stored with warnings (``warnings`` counts warnings; ``warned_spans`` spans)."""

    table: pa.Table
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)
    warnings: int = 0
    warned_spans: int = 0
    warning_samples: list[str] = field(default_factory=list)

    @property
    def error_message(self) -> str:
        """A short human-readable summary of rejected spans and of spans stored with
        warnings ("" when there were none): OTLP's partial_success message."""
        parts = []
        if self.rejected:
            parts.append(f"{self.rejected} span(s) rejected: " + "; ".join(self.reasons))
        if self.warned_spans:
            parts.append(
                f"{self.warned_spans} span(s) stored with {self.warnings} warning(s) "
                "(see spans.ingest_warnings): " + "; ".join(self.warning_samples)
            )
        return " | ".join(parts)


def resolve_attributes(
    attrs: dict[str, Any],
    events: Sequence[dict[str, Any]] = (),
    prices: PriceTable | None = None,
) -> Resolved:
    """Resolve the normalized fields of one span from its raw attributes (and events).

    A convention that fails on input it should have survived costs only its own fields: the
    failure becomes a warning and the other conventions still run.
    """
    resolved = Resolved()
    marked = not ANY_MARKER.isdisjoint(attrs)
    for convention in CONVENTIONS:
        if not marked and convention in MARKED:
            continue
        try:
            convention(attrs, resolved)
        except Exception as exc:  # the span is stored with what could be read
            name = convention.__module__.rsplit(".", 1)[-1]
            resolved.warn(f"{name}: could not read attributes ({exc!r:.120})")
    if events and (resolved.input is None or resolved.output is None):
        try:
            genai_events.resolve(events, resolved)
        except Exception as exc:
            resolved.warn(f"events: could not read messages ({exc!r:.120})")
    if resolved.total_tokens is None and (
        resolved.input_tokens is not None or resolved.output_tokens is not None
    ):
        resolved.total_tokens = (resolved.input_tokens or 0) + (resolved.output_tokens or 0)
    if resolved.model is not None:
        _price(resolved, prices if prices is not None else PriceTable.shipped())
    if resolved.kind is None:
        resolved.kind = "llm" if resolved.model and resolved.output is not None else "other"
    return resolved


def _price(resolved: Resolved, prices: PriceTable) -> None:
    """Cost from the price table when the span reported none; the provider named by the
    table when no convention gave one. Unknown models get neither, and neither does a span
    without an input token count (a missing output count is taken as none: embeddings)."""
    if resolved.cost_usd is not None and resolved.provider is not None:
        return
    price = prices.lookup(resolved.model or "")
    if price is None:
        return
    if resolved.provider is None:
        resolved.provider = price.provider
    if resolved.cost_usd is None and resolved.input_tokens is not None:
        resolved.cost_usd = price.cost(
            resolved.input_tokens,
            resolved.output_tokens,
            resolved.cache_read_tokens,
            resolved.cache_write_tokens,
        )


def normalize_request(
    request: ExportTraceServiceRequest,
    *,
    default_project: str = DEFAULT_PROJECT,
    prices: PriceTable | None = None,
) -> NormalizedBatch:
    """Normalize every span of an OTLP request; invalid spans are counted, not raised.

    ``prices`` computes the cost of spans that report tokens but no cost (default: the
    price table shipped with loopwise).
    """
    rows: list[tuple[Any, ...]] = []
    prices = prices if prices is not None else PriceTable.shipped()
    rejected = 0
    warnings = 0
    warned_spans = 0
    samples: list[str] = []
    reasons: list[str] = []
    ingested_at = time.time_ns() // 1000
    for resource_spans in request.resource_spans:
        resource = key_values(resource_spans.resource.attributes)
        resource_json = to_json(resource)
        service_name = resource.get("service.name")
        project = first_str(resource, PROJECT_RESOURCE_KEYS) or default_project
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                problem = _invalid_reason(span)
                if problem:
                    rejected += 1
                    if len(reasons) < MAX_REASONS:
                        reasons.append(problem)
                    continue
                row, span_warnings = _span_row(
                    span, project, service_name, resource_json, ingested_at, prices
                )
                rows.append(row)
                if span_warnings:
                    warnings += len(span_warnings)
                    warned_spans += 1
                    if len(samples) < MAX_WARNING_SAMPLES:
                        samples.append(f"span {span.name!r:.60}: {span_warnings[0]}")
    return NormalizedBatch(
        table=rows_table(rows),
        rejected=rejected,
        reasons=reasons,
        warnings=warnings,
        warned_spans=warned_spans,
        warning_samples=samples,
    )


def _invalid_reason(span: Span) -> str:
    if len(span.trace_id) != 16 or not any(span.trace_id):
        return f"span {span.name!r:.60}: trace_id must be 16 non-zero bytes"
    if len(span.span_id) != 8 or not any(span.span_id):
        return f"span {span.name!r:.60}: span_id must be 8 non-zero bytes"
    if span.parent_span_id and len(span.parent_span_id) != 8:
        return f"span {span.name!r:.60}: parent_span_id must be 8 bytes"
    if span.start_time_unix_nano == 0:
        return f"span {span.name!r:.60}: start_time_unix_nano is missing"
    return ""


# The order of the tuple _span_row builds; checked against the table's columns at import.
ROW_COLUMNS = (
    "project",
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "status",
    "status_message",
    "start_time",
    "end_time",
    "duration_ms",
    "service_name",
    "model",
    "provider",
    "input",
    "output",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
    "session_id",
    "user_id",
    "tags",
    "metadata",
    "attributes",
    "resource",
    "events",
    "ingested_at",
    "ingest_warnings",
    "input_messages",
    "output_messages",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)
if ROW_COLUMNS != SPAN_COLUMN_NAMES:  # pragma: no cover - a schema change not made here
    raise ImportError("normalize.ROW_COLUMNS is out of step with the spans schema")


def _span_row(
    span: Span,
    project: str,
    service_name: Any,
    resource_json: str,
    ingested_at: int,
    prices: PriceTable,
) -> tuple[tuple[Any, ...], list[str]]:
    """One OTLP span's row (in ROW_COLUMNS order) and its normalization warnings."""
    events = [
        {
            "name": event.name,
            "time_unix_nano": event.time_unix_nano,
            "attributes": key_values(event.attributes),
        }
        for event in span.events
    ]
    return span_row(
        project=project,
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex() if span.parent_span_id else None,
        name=span.name,
        status=_STATUS.get(span.status.code, "unset"),
        status_message=span.status.message,
        start_ns=span.start_time_unix_nano,
        end_ns=span.end_time_unix_nano,
        service_name=service_name,
        resource_json=resource_json,
        ingested_at=ingested_at,
        attrs=key_values(span.attributes),
        events=events,
        prices=prices,
    )


def span_row(
    *,
    project: str,
    trace_id: str,
    span_id: str,
    parent_span_id: str | None,
    name: str,
    status: str,
    status_message: str,
    start_ns: int,
    end_ns: int,
    service_name: Any,
    resource_json: str,
    ingested_at: int,
    attrs: dict[str, Any],
    events: list[dict[str, Any]],
    prices: PriceTable,
    kind: str | None = None,
) -> tuple[tuple[Any, ...], list[str]]:
    """One span's row (in ROW_COLUMNS order) and its normalization warnings, from its ids
    (hex), times (ns since the epoch), status and decoded attributes and events.

    The OTLP decoder and other receivers (Langfuse's ingestion API) build rows here, so a
    span reads the same whichever way it arrived. ``kind``, when given, is used where no
    convention named one."""
    resolved = resolve_attributes(attrs, events, prices)
    if kind is not None and resolved.kind == "other":
        resolved.kind = kind
    end = max(end_ns, start_ns)
    status_message = status_message or (_exception_message(events) if status == "error" else "")
    row = (
        project,
        trace_id,
        span_id,
        parent_span_id,
        name,
        resolved.kind,
        status,
        status_message or None,
        start_ns // 1000,
        end // 1000,
        (end - start_ns) / 1e6,
        None if service_name is None else str(service_name),
        resolved.model,
        resolved.provider,
        resolved.input,
        resolved.output,
        resolved.input_tokens,
        resolved.output_tokens,
        resolved.total_tokens,
        resolved.cost_usd,
        resolved.session_id,
        resolved.user_id,
        resolved.tags,
        to_json(resolved.metadata) if resolved.metadata else None,
        to_json(_lift_copied_text(attrs, resolved)),
        resource_json,
        to_json(events) if events else None,
        ingested_at,
        resolved.warnings or None,
        to_json(resolved.input_messages) if resolved.input_messages else None,
        to_json(resolved.output_messages) if resolved.output_messages else None,
        resolved.cache_read_tokens,
        resolved.cache_write_tokens,
        resolved.reasoning_tokens,
    )
    return row, resolved.warnings


def rows_table(rows: list[tuple[Any, ...]]) -> pa.Table:
    """Rows built by ``span_row`` as one Arrow table in the ``spans`` schema."""
    # Rows are built as tuples and turned into columns once: cheaper than appending to
    # one list per column for every span.
    columns = map(list, zip(*rows, strict=True)) if rows else ([] for _ in ROW_COLUMNS)
    by_name = dict(zip(ROW_COLUMNS, columns, strict=True))
    return pa.Table.from_pydict(by_name, schema=SPAN_ARROW_SCHEMA)


def _lift_copied_text(attrs: dict[str, Any], resolved: Resolved) -> dict[str, Any]:
    """Attributes with text copied verbatim into ``input``/``output`` replaced by a marker.

    Prompts and completions are most of a span's bytes; storing them twice halved the
    append rate. ``{"$column": "input"}`` names the column that holds the value, and the
    SQL macro ``raw_attributes(attributes, input, output)`` puts it back, so nothing is lost.
    """
    lifted: dict[str, Any] | None = None
    for column, text, key, allowed in (
        ("input", resolved.input, resolved.input_key, LIFTABLE_INPUT_KEYS),
        ("output", resolved.output, resolved.output_key, LIFTABLE_OUTPUT_KEYS),
    ):
        if key is not None and key in allowed and text is not None and attrs.get(key) == text:
            lifted = lifted if lifted is not None else dict(attrs)
            lifted[key] = {"$column": column}
    return lifted if lifted is not None else attrs


def _exception_message(events: list[dict[str, Any]]) -> str:
    for event in events:
        if event["name"] == "exception":
            attrs = event["attributes"]
            kind = attrs.get("exception.type", "")
            message = attrs.get("exception.message", "")
            return f"{kind}: {message}" if kind and message else str(kind or message)
    return ""
