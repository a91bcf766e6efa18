"""Deterministic tracing for tests: fixed ids, a fixed clock, and an in-memory exporter whose
spans can be read back as normalized rows."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import IdGenerator

FIXED_EPOCH_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


class SequentialIdGenerator(IdGenerator):
    """Trace ids 1, 2, 3… and span ids 1, 2, 3…, so expected rows can be written by hand."""

    def __init__(self) -> None:
        self._trace_ids = itertools.count(1)
        self._span_ids = itertools.count(1)
        self._lock = threading.Lock()

    def generate_trace_id(self) -> int:
        """The next trace id."""
        with self._lock:
            return next(self._trace_ids)

    def generate_span_id(self) -> int:
        """The next span id."""
        with self._lock:
            return next(self._span_ids)


class TickingClock:
    """A clock that starts at ``start_ns`` and advances ``step_ns`` on every reading."""

    def __init__(self, start_ns: int = FIXED_EPOCH_NS, step_ns: int = 1_000_000) -> None:
        self._next = start_ns
        self._step = step_ns
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            now = self._next
            self._next += self._step
            return now


class TestingExporter(SpanExporter):
    """Keeps finished spans in memory; ``rows()`` gives them as the store would hold them.

    A client initialized with this exporter (and no endpoint) hands ``feedback()`` here too:
    ``feedback`` lists the checked payloads.
    """

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self._spans: list[ReadableSpan] = []
        self._feedback: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Remember the spans."""
        with self._lock:
            self._spans.extend(spans)
        return SpanExportResult.SUCCESS

    def export_feedback(self, payload: dict[str, Any]) -> None:
        """Remember one piece of end-user feedback."""
        with self._lock:
            self._feedback.append(dict(payload))

    @property
    def feedback(self) -> list[dict[str, Any]]:
        """Feedback payloads received, oldest first."""
        with self._lock:
            return list(self._feedback)

    @property
    def spans(self) -> list[ReadableSpan]:
        """Finished spans, in the order they ended."""
        with self._lock:
            return list(self._spans)

    def rows(self, project: str = "default") -> list[dict[str, Any]]:
        """The finished spans normalized exactly as the collector stores them.

        ``ingested_at`` is the latest span end rather than the wall clock, so with a fixed
        clock and id generator the rows are the same on every run.
        """
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        from ..semconv.normalize import normalize_request

        spans = self.spans
        if not spans:
            return []
        table = normalize_request(encode_spans(spans), default_project=project).table
        rows: list[dict[str, Any]] = table.to_pylist()
        last_end_us = max(span.end_time or span.start_time or 0 for span in spans) // 1000
        ingested_at = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=last_end_us)
        for row in rows:
            row["ingested_at"] = ingested_at
        return rows

    def clear(self) -> None:
        """Forget every span and every piece of feedback."""
        with self._lock:
            self._spans.clear()
            self._feedback.clear()

    def shutdown(self) -> None:
        """Nothing to release."""
