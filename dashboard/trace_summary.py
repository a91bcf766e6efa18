"""What the Traces page says about one trace as a whole, and the tables of scores and flags
attached to it. No Streamlit here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from loopwise.collector.store.usage import counted_usage
from loopwise.collector.times import maybe_utc

from .api import Record
from .render import SpanRow, format_duration

ATTACHED_COLUMNS = (
    "name",
    "severity",
    "rule",
    "value",
    "label",
    "passed",
    "reason",
    "explanation",
    "status",
    "kind",
    "source",
    "evaluator",
    "evaluator_version",
    "author",
    "comment",
    "created_at",
)
"""Fields of scores and flags shown in their tables, in this order, when present."""


@dataclass(frozen=True)
class TraceSummary:
    """One trace at a glance, gathered from its spans."""

    trace_id: str
    project: str | None
    started: str | None
    duration_ms: float | None
    spans: int
    errors: int
    total_tokens: int
    cost_usd: float
    session_id: str | None
    user_id: str | None
    tags: tuple[str, ...]

    def line(self) -> str:
        """One plain line: id, project, start, duration, spans, errors, tokens, cost."""
        parts = [f"Trace {self.trace_id}"]
        if self.project:
            parts.append(f"project {self.project}")
        if self.started:
            parts.append(f"started {self.started} UTC")
        if self.duration_ms is not None:
            parts.append(format_duration(self.duration_ms))
        parts.append(f"{self.spans} spans")
        if self.errors:
            parts.append(f"{self.errors} failed")
        if self.total_tokens:
            parts.append(f"{self.total_tokens} tokens")
        if self.cost_usd:
            parts.append(f"${self.cost_usd:.4f}")
        return " · ".join(parts)


def summarize(trace_id: str, rows: Sequence[SpanRow]) -> TraceSummary:
    """The summary of a trace from its spans (in tree order, roots first)."""
    spans = [row.span for row in rows]
    starts = [t for s in spans if (t := _time(s.get("start_time"))) is not None]
    ends = [t for s in spans if (t := _time(s.get("end_time"))) is not None]
    duration = (max(ends) - min(starts)) / dt.timedelta(milliseconds=1) if starts and ends else None
    usage = counted_usage(spans)  # a parent reporting its children's sum is not added again
    tags: list[str] = []
    for span in spans:
        for tag in span.get("tags") or []:
            if isinstance(tag, str) and tag not in tags:
                tags.append(tag)
    return TraceSummary(
        trace_id=trace_id,
        project=_first(spans, "project"),
        started=min(starts).isoformat(sep=" ", timespec="seconds") if starts else None,
        duration_ms=duration,
        spans=len(spans),
        errors=sum(1 for s in spans if s.get("status") == "error"),
        total_tokens=int(usage["total_tokens"] or 0),
        cost_usd=float(usage["cost_usd"] or 0.0),
        session_id=_first(spans, "session_id"),
        user_id=_first(spans, "user_id"),
        tags=tuple(tags),
    )


def attached_frame(items: Iterable[Record], span_id: str | None) -> pd.DataFrame:
    """The scores or flags about ``span_id`` (None: about the whole trace) as a table of
    plain values, with the ``ATTACHED_COLUMNS`` that any of them has."""
    chosen = [item for item in items if (item.get("span_id") or None) == span_id]
    columns = [c for c in ATTACHED_COLUMNS if any(item.get(c) is not None for item in chosen)]
    records = [{c: _plain(item.get(c)) for c in columns} for item in chosen]
    return pd.DataFrame.from_records(records, columns=columns)


def _first(spans: Iterable[Record], key: str) -> str | None:
    for span in spans:
        value = span.get(key)
        if value:
            return str(value)
    return None


def _time(value: object) -> dt.datetime | None:
    """A time from the API as naive UTC (the API writes ``...Z`` or naive ISO 8601)."""
    return maybe_utc(value)


def _plain(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
