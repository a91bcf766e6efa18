"""OTLP log requests → rows of the ``logs`` table, GenAI content events read as messages.

Every log record becomes one row (body as text, attributes and resource as JSON). A GenAI
content event also gets its messages: ``gen_ai.client.inference.operation.details``
(``gen_ai.input.messages``, ``gen_ai.output.messages``, ``gen_ai.system_instructions``) and the
older per-message events (``gen_ai.system.message``, ``gen_ai.user.message``,
``gen_ai.assistant.message``, ``gen_ai.tool.message``, ``gen_ai.choice``; their content is in
the body), read by the same code as message span events (genai_events). The store joins
those messages to their span by trace and span id (collector/store/log_content.py, which
also defines the table).

A record's id is a hash of its bytes with its resource and scope, so a resent request adds
nothing. Records without a valid trace and span id are stored, but joined to no span.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from ..store.log_content import LOG_ARROW_SCHEMA, LOG_COLUMN_NAMES
from . import genai_events
from .fields import Resolved, first_str
from .values import any_value, key_values, to_json

PROJECT_RESOURCE_KEYS = ("loopwise.project", "openinference.project.name", "project.name")
CONTENT_EVENTS = frozenset(
    set(genai_events.INPUT_EVENTS)
    | {genai_events.CHOICE_EVENT, genai_events.DETAILS_EVENT}
    | {genai_events.PROMPT_EVENT, genai_events.COMPLETION_EVENT}
)
MAX_REASONS = 20


@dataclass
class LogBatch:
    """The rows decoded from one logs request and the records that could not be stored."""

    table: pa.Table
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)

    @property
    def error_message(self) -> str:
        """OTLP's partial_success message ("" when every record was stored)."""
        if not self.rejected:
            return ""
        return f"{self.rejected} log record(s) rejected: " + "; ".join(self.reasons)


def normalize_logs(request: ExportLogsServiceRequest, *, default_project: str) -> LogBatch:
    """Rows of the ``logs`` table for every record of ``request``; bad ids are rejected."""
    rows: list[tuple[Any, ...]] = []
    reasons: list[str] = []
    rejected = 0
    ingested_at = time.time_ns() // 1000
    seq = time.time_ns()
    for resource_logs in request.resource_logs:
        resource = key_values(resource_logs.resource.attributes)
        resource_json = to_json(resource)
        service = resource.get("service.name")
        project = first_str(resource, PROJECT_RESOURCE_KEYS) or default_project
        prefix = resource_logs.resource.SerializeToString(deterministic=True)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope.SerializeToString(deterministic=True)
            for record in scope_logs.log_records:
                problem = _invalid_reason(record)
                if problem:
                    rejected += 1
                    if len(reasons) < MAX_REASONS:
                        reasons.append(problem)
                    continue
                digest = hashlib.sha256(prefix + b"\0" + scope + b"\0")
                digest.update(record.SerializeToString(deterministic=True))
                row = log_row(record, project, service, resource_json, scope_logs.scope.name)
                rows.append((digest.hexdigest()[:32], *row, seq + len(rows), ingested_at))
    columns = zip(*rows, strict=True) if rows else ([] for _ in LOG_COLUMN_NAMES)
    by_name = dict(zip(LOG_COLUMN_NAMES, map(list, columns), strict=True))
    return LogBatch(pa.Table.from_pydict(by_name, schema=LOG_ARROW_SCHEMA), rejected, reasons)


def _invalid_reason(record: LogRecord) -> str:
    if record.trace_id and len(record.trace_id) != 16:
        return "log record: trace_id must be 16 bytes"
    if record.span_id and len(record.span_id) != 8:
        return "log record: span_id must be 8 bytes"
    return ""


def log_row(
    record: LogRecord, project: str, service: Any, resource_json: str, scope_name: str
) -> tuple[Any, ...]:
    """One record's columns from ``project`` to ``output_messages`` (LOG_COLUMNS order)."""
    attrs = key_values(record.attributes)
    event_name = record.event_name or _text_or_none(attrs.get("event.name"))
    body = any_value(record.body) if record.HasField("body") else None
    inputs = outputs = None
    if event_name in CONTENT_EVENTS:
        try:
            inputs, outputs = content_messages(event_name, attrs, body)
        except Exception:  # unreadable content: the record is stored, joined to nothing
            inputs = outputs = None
    trace_id = record.trace_id.hex() if any(record.trace_id) else None
    span_id = record.span_id.hex() if any(record.span_id) else None
    return (
        project,
        trace_id,
        span_id,
        record.time_unix_nano // 1000 or None,
        record.observed_time_unix_nano // 1000 or None,
        record.severity_number,
        record.severity_text or None,
        event_name,
        None if body is None else (body if isinstance(body, str) else to_json(body)),
        to_json(attrs),
        resource_json,
        scope_name or None,
        None if service is None else str(service),
        to_json(inputs) if inputs else None,
        to_json(outputs) if outputs else None,
    )


def content_messages(
    event_name: str, attrs: dict[str, Any], body: Any
) -> tuple[list[Any] | None, list[Any] | None]:
    """(input messages, output messages) of one GenAI content event; the body's fields (the
    older events put content there) join the attributes."""
    fields = dict(attrs)
    if isinstance(body, dict):
        fields.update(body)
    elif body is not None and body != "":
        fields.setdefault("content", body)
    resolved = Resolved()
    genai_events.resolve([{"name": event_name, "attributes": fields}], resolved)
    return resolved.input_messages, resolved.output_messages


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
