"""Read-only views of stored spans and traces, as evaluators receive them.

A ``SpanView`` is one row of the ``spans`` table with its JSON metadata parsed, plus what
its trace knows: ``retrieved_context`` (the outputs of retriever spans in the same trace)
and ``root_input`` (what the trace was asked). A ``TraceView`` holds every span of a trace.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

REFERENCE_KEYS = ("reference", "expected_output", "expected")


@dataclass(frozen=True, slots=True)
class SpanView:
    """One normalized span. Text fields (``input``, ``output``) are untrusted."""

    project: str
    trace_id: str
    span_id: str
    name: str
    kind: str
    status: str = "unset"
    parent_span_id: str | None = None
    status_message: str | None = None
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    duration_ms: float | None = None
    service_name: str | None = None
    model: str | None = None
    provider: str | None = None
    input: str | None = None
    output: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cost_usd: float | None = None
    session_id: str | None = None
    user_id: str | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    retrieved_context: tuple[str, ...] = ()
    root_input: str | None = None
    reference: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SpanView:
        """A view of one ``spans`` row (a dict); unknown keys are ignored."""
        metadata = _parse_object(row.get("metadata"))
        reference = row.get("reference")
        if reference is None:
            reference = next((metadata[k] for k in REFERENCE_KEYS if k in metadata), None)
            if reference is not None and not isinstance(reference, str):
                reference = json.dumps(reference, ensure_ascii=False)
        return cls(
            project=str(row.get("project") or "default"),
            trace_id=str(row.get("trace_id") or ""),
            span_id=str(row.get("span_id") or ""),
            name=str(row.get("name") or ""),
            kind=str(row.get("kind") or "other"),
            status=str(row.get("status") or "unset"),
            parent_span_id=row.get("parent_span_id"),
            status_message=row.get("status_message"),
            start_time=row.get("start_time"),
            end_time=row.get("end_time"),
            duration_ms=row.get("duration_ms"),
            service_name=row.get("service_name"),
            model=row.get("model"),
            provider=row.get("provider"),
            input=row.get("input"),
            output=row.get("output"),
            input_tokens=row.get("input_tokens"),
            output_tokens=row.get("output_tokens"),
            total_tokens=row.get("total_tokens"),
            cost_usd=row.get("cost_usd"),
            session_id=row.get("session_id"),
            user_id=row.get("user_id"),
            tags=tuple(row.get("tags") or ()),
            metadata=metadata,
            retrieved_context=tuple(row.get("retrieved_context") or ()),
            root_input=row.get("root_input"),
            reference=reference,
        )

    @property
    def is_root(self) -> bool:
        """True when the span has no parent."""
        return not self.parent_span_id


@dataclass(frozen=True, slots=True)
class TraceView:
    """Every span of one trace, in start order."""

    trace_id: str
    project: str
    spans: tuple[SpanView, ...]

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> TraceView:
        """A trace from its span rows (all with the same trace id)."""
        spans = tuple(sorted((SpanView.from_row(r) for r in rows), key=_start_key))
        if not spans:
            raise ValueError("a trace needs at least one span")
        context = tuple(s.output for s in spans if s.kind == "retriever" and s.output)
        root_input = _root(spans).input
        spans = tuple(_with_context(s, context, root_input) for s in spans)
        return cls(trace_id=spans[0].trace_id, project=spans[0].project, spans=spans)

    @property
    def root(self) -> SpanView:
        """The root span (the earliest parentless span, else the earliest span)."""
        return _root(self.spans)

    @property
    def input(self) -> str | None:
        """The root span's input."""
        return self.root.input

    @property
    def output(self) -> str | None:
        """The root span's output."""
        return self.root.output

    @property
    def retrieved_context(self) -> tuple[str, ...]:
        """Outputs of the trace's retriever spans."""
        return tuple(s.output for s in self.spans if s.kind == "retriever" and s.output)

    def by_kind(self, kind: str) -> tuple[SpanView, ...]:
        """Spans of one kind (``llm``, ``tool``, ...)."""
        return tuple(s for s in self.spans if s.kind == kind)

    def named(self, name: str) -> tuple[SpanView, ...]:
        """Spans with this name."""
        return tuple(s for s in self.spans if s.name == name)


def _start_key(span: SpanView) -> tuple[dt.datetime, str]:
    return (span.start_time or dt.datetime.min, span.span_id)


def _root(spans: Sequence[SpanView]) -> SpanView:
    return next((s for s in spans if s.is_root), spans[0])


def _with_context(span: SpanView, context: tuple[str, ...], root_input: str | None) -> SpanView:
    return replace(span, retrieved_context=context, root_input=root_input)


def _parse_object(text: Any) -> dict[str, Any]:
    if isinstance(text, Mapping):
        return dict(text)
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def span_views(table: pa.Table) -> list[SpanView]:
    """Views of every row of an Arrow table in the spans schema (extra columns welcome)."""
    return [SpanView.from_row(row) for row in table.to_pylist()]
