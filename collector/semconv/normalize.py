"""OTLP trace requests → normalized span rows (an Arrow table in the ``spans`` schema)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from ..store.schema import SPAN_ARROW_SCHEMA, SPAN_COLUMN_NAMES
from . import genai, openinference
from .fields import Resolved, first_str
from .values import key_values, to_json

# Conventions in priority order: the first one that fills a field wins.
CONVENTIONS = (genai.resolve, openinference.resolve)

PROJECT_RESOURCE_KEYS = ("loopwise.project", "openinference.project.name", "project.name")
DEFAULT_PROJECT = "default"
MAX_REASONS = 20
# Attributes whose string value may be the input/output column verbatim (see
# _lift_copied_text).
LIFTABLE_INPUT_KEYS = ("input.value", "gen_ai.tool.call.arguments")
LIFTABLE_OUTPUT_KEYS = ("output.value", "gen_ai.tool.call.result")

_STATUS = {Status.STATUS_CODE_OK: "ok", Status.STATUS_CODE_ERROR: "error"}


@dataclass
class NormalizedBatch:
    """The rows decoded from one request, and the spans that could not be stored."""

    table: pa.Table
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)
    warnings: int = 0

    @property
    def error_message(self) -> str:
        """A short human-readable summary of why spans were rejected ("" when none were)."""
        if not self.rejected:
            return ""
        return f"{self.rejected} span(s) rejected: " + "; ".join(self.reasons)


def resolve_attributes(attrs: dict[str, Any]) -> Resolved:
    """Resolve the normalized fields of one span from its raw attributes."""
    resolved = Resolved()
    for convention in CONVENTIONS:
        convention(attrs, resolved)
    if resolved.total_tokens is None and (
        resolved.input_tokens is not None or resolved.output_tokens is not None
    ):
        resolved.total_tokens = (resolved.input_tokens or 0) + (resolved.output_tokens or 0)
    if resolved.kind is None:
        resolved.kind = "llm" if resolved.model and resolved.output is not None else "other"
    return resolved


def normalize_request(
    request: ExportTraceServiceRequest, *, default_project: str = DEFAULT_PROJECT
) -> NormalizedBatch:
    """Normalize every span of an OTLP request; invalid spans are counted, not raised."""
    columns: dict[str, list[Any]] = {name: [] for name in SPAN_COLUMN_NAMES}
    rejected = 0
    warnings = 0
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
                warnings += _append_span(
                    columns, span, project, service_name, resource_json, ingested_at
                )
    table = pa.Table.from_pydict(columns, schema=SPAN_ARROW_SCHEMA)
    return NormalizedBatch(table=table, rejected=rejected, reasons=reasons, warnings=warnings)


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


def _append_span(
    columns: dict[str, list[Any]],
    span: Span,
    project: str,
    service_name: Any,
    resource_json: str,
    ingested_at: int,
) -> int:
    attrs = key_values(span.attributes)
    resolved = resolve_attributes(attrs)
    events = [
        {
            "name": event.name,
            "time_unix_nano": event.time_unix_nano,
            "attributes": key_values(event.attributes),
        }
        for event in span.events
    ]
    start = span.start_time_unix_nano
    end = max(span.end_time_unix_nano, start)
    status = _STATUS.get(span.status.code, "unset")
    status_message = span.status.message or (
        _exception_message(events) if status == "error" else ""
    )

    columns["project"].append(project)
    columns["trace_id"].append(span.trace_id.hex())
    columns["span_id"].append(span.span_id.hex())
    columns["parent_span_id"].append(span.parent_span_id.hex() if span.parent_span_id else None)
    columns["name"].append(span.name)
    columns["kind"].append(resolved.kind)
    columns["status"].append(status)
    columns["status_message"].append(status_message or None)
    columns["start_time"].append(start // 1000)
    columns["end_time"].append(end // 1000)
    columns["duration_ms"].append((end - start) / 1e6)
    columns["service_name"].append(None if service_name is None else str(service_name))
    columns["model"].append(resolved.model)
    columns["provider"].append(resolved.provider)
    columns["input"].append(resolved.input)
    columns["output"].append(resolved.output)
    columns["input_tokens"].append(resolved.input_tokens)
    columns["output_tokens"].append(resolved.output_tokens)
    columns["total_tokens"].append(resolved.total_tokens)
    columns["cost_usd"].append(resolved.cost_usd)
    columns["session_id"].append(resolved.session_id)
    columns["user_id"].append(resolved.user_id)
    columns["tags"].append(resolved.tags)
    columns["metadata"].append(to_json(resolved.metadata) if resolved.metadata else None)
    columns["attributes"].append(to_json(_lift_copied_text(attrs, resolved)))
    columns["resource"].append(resource_json)
    columns["events"].append(to_json(events) if events else None)
    columns["ingested_at"].append(ingested_at)
    return len(resolved.warnings)


def _lift_copied_text(attrs: dict[str, Any], resolved: Resolved) -> dict[str, Any]:
    """Attributes with text copied verbatim into ``input``/``output`` replaced by a marker.

    Prompts and completions are most of a span's bytes; storing them twice halved the
    append rate. ``{"$column": "input"}`` names the column that holds the value, and the
    SQL macro ``raw_attributes(attributes, input, output)`` puts it back, so nothing is lost.
    """
    lifted: dict[str, Any] | None = None
    for column, text, keys in (
        ("input", resolved.input, LIFTABLE_INPUT_KEYS),
        ("output", resolved.output, LIFTABLE_OUTPUT_KEYS),
    ):
        if text is None:
            continue
        for key in keys:
            if attrs.get(key) == text:
                lifted = lifted if lifted is not None else dict(attrs)
                lifted[key] = {"$column": column}
                break
    return lifted if lifted is not None else attrs


def _exception_message(events: list[dict[str, Any]]) -> str:
    for event in events:
        if event["name"] == "exception":
            attrs = event["attributes"]
            kind = attrs.get("exception.type", "")
            message = attrs.get("exception.message", "")
            return f"{kind}: {message}" if kind and message else str(kind or message)
    return ""
