"""Turning API records into what the pages show: tables, labels, safe text. No Streamlit here.

Everything from the API is untrusted (span names, model input and output, error messages).
Pages show it with ``st.text``, ``st.code`` or inside ``st.dataframe``; the rare string that
must pass through a Markdown-rendering call (a label, ``st.error``) goes through
``escape_markdown`` first.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .api import Record

_MARKDOWN_ESCAPES = str.maketrans({c: "\\" + c for c in string.punctuation})
_LINE_BREAKS = str.maketrans({"\r": " ", "\n": " ", "\t": " "})

TRACE_COLUMNS = {
    "start_time": "start time (UTC)",
    "root_name": "root name",
    "duration_ms": "duration (ms)",
    "span_count": "spans",
    "error_count": "errors",
    "total_tokens": "tokens",
    "cost_usd": "cost (USD)",
    "session_id": "session",
    "user_id": "user",
    "project": "project",
    "trace_id": "trace id",
}
"""API field → column heading of the traces table, in display order."""

SPAN_COLUMNS = [
    "span",
    "kind",
    "status",
    "duration (ms)",
    "model",
    "input tokens",
    "output tokens",
    "tokens",
    "cost (USD)",
]
"""Column headings of the span tree table, in display order."""


BETTER = {"higher": "higher", "lower": "lower", "none": "in bounds (see pass rate)"}
"""How a score direction reads in a table's ``better`` column."""


def better_text(direction: object) -> str:
    """Which way of an evaluator's mean is better, for a table cell (``higher`` when the
    direction is unknown: scores written before directions were recorded)."""
    chosen = direction if isinstance(direction, str) and direction else "higher"
    return BETTER.get(chosen, chosen)


def page_count(total: int, size: int) -> int:
    """How many pages of ``size`` rows hold ``total`` rows (at least one, for an empty list)."""
    if size < 1:
        raise ValueError(f"page size must be at least 1, got {size}")
    return max(1, -(-max(total, 0) // size))


def page_caption(page: int, size: int, total: int | None, noun: str) -> str:
    """The pager's position line: ``Page 1 of 2 · 37 sessions`` (``Page 3`` when the total
    is unknown)."""
    if total is None:
        return f"Page {page}"
    return f"Page {page} of {page_count(total, size):,} · {total:,} {noun}"


def escape_markdown(text: object, *, max_chars: int | None = None) -> str:
    """``text`` made literal for Markdown: one line, every ASCII punctuation backslash-escaped.

    CommonMark renders an escaped punctuation character as itself, so links, emphasis,
    HTML, Streamlit directives (``:red[...]``) and LaTeX (``$...$``) cannot form.
    """
    plain = str(text).translate(_LINE_BREAKS)
    if max_chars is not None and len(plain) > max_chars:
        plain = plain[: max(max_chars - 1, 0)] + "…"
    return plain.translate(_MARKDOWN_ESCAPES)


def traces_frame(traces: Iterable[Record]) -> pd.DataFrame:
    """The traces table: one row per trace summary, columns named by ``TRACE_COLUMNS``."""
    frame = pd.DataFrame.from_records(list(traces), columns=list(TRACE_COLUMNS))
    frame["start_time"] = pd.to_datetime(
        frame["start_time"], errors="coerce", format="ISO8601", utc=True
    )
    for column in ("duration_ms", "cost_usd"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    for column in ("span_count", "error_count", "total_tokens"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    return frame.rename(columns=TRACE_COLUMNS)


def trace_label(trace: Record) -> str:
    """Plain-text label of a trace for a picker: root name, start time and short id."""
    name = _one_line(trace.get("root_name") or "(unnamed)", 60)
    started = str(trace.get("start_time") or "").replace("T", " ")[:19]
    short_id = str(trace.get("trace_id") or "")[:8]
    return f"{name} · {started} · {short_id}"


@dataclass(frozen=True)
class SpanRow:
    """One span in depth-first tree order, with its depth below the root (0 for roots)."""

    depth: int
    span: Record


def flatten_tree(tree: Iterable[Record]) -> list[SpanRow]:
    """The span tree depth-first, children in start order, each with its depth."""
    return list(_walk(tree, 0))


def _walk(nodes: Iterable[Record], depth: int) -> Iterator[SpanRow]:
    for node in sorted(nodes, key=_start_order):
        yield SpanRow(depth, node)
        children = node.get("children")
        if isinstance(children, list):
            yield from _walk(children, depth + 1)


def _start_order(span: Record) -> tuple[str, str]:
    return str(span.get("start_time") or ""), str(span.get("span_id") or "")


def indented_name(row: SpanRow) -> str:
    """The span's name drawn under its parent: ``└─``, shifted three spaces per level."""
    name = _one_line(row.span.get("name") or "(unnamed)", 120)
    if row.depth == 0:
        return name
    return "   " * (row.depth - 1) + "└─ " + name


def spans_frame(rows: Iterable[SpanRow]) -> pd.DataFrame:
    """The span tree table: indented name, kind, status, duration, model, tokens, cost."""
    records = [
        {
            "span": indented_name(row),
            "kind": row.span.get("kind"),
            "status": row.span.get("status"),
            "duration (ms)": row.span.get("duration_ms"),
            "model": row.span.get("model"),
            "input tokens": row.span.get("input_tokens"),
            "output tokens": row.span.get("output_tokens"),
            "tokens": row.span.get("total_tokens"),
            "cost (USD)": row.span.get("cost_usd"),
        }
        for row in rows
    ]
    frame = pd.DataFrame.from_records(records, columns=SPAN_COLUMNS)
    for column in ("duration (ms)", "cost (USD)"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    for column in ("input tokens", "output tokens", "tokens"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    return frame


def span_summary(row: SpanRow) -> str:
    """One plain line about a span: kind, status, duration, model and tokens when known."""
    span = row.span
    parts = [str(span.get("kind") or "?"), str(span.get("status") or "?")]
    duration = span.get("duration_ms")
    if isinstance(duration, int | float):
        parts.append(format_duration(duration))
    if span.get("model"):
        parts.append(_one_line(span["model"], 60))
    if isinstance(span.get("total_tokens"), int):
        parts.append(f"{span['total_tokens']} tokens")
    return " · ".join(parts)


def format_duration(ms: float) -> str:
    """A duration for people: ``850 ms``, ``1.2 s``, ``3 min 5 s``."""
    if ms < 1000:
        return f"{ms:.3g} ms" if ms < 10 else f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


@dataclass(frozen=True)
class ContentBlock:
    """Span content ready for ``st.code``: the text and its highlighting language."""

    text: str
    language: str | None


def content_block(value: object) -> ContentBlock:
    """Span input or output as a code block: JSON pretty-printed, anything else verbatim."""
    if value is None or value == "":
        return ContentBlock("(none)", None)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            return ContentBlock(text, None)
        return ContentBlock(json.dumps(parsed, indent=2, ensure_ascii=False), "json")
    return ContentBlock(text, None)


def output_text(value: object) -> str:
    """A span's output as the model wrote it, for a reviewer to edit: text verbatim (JSON
    stays on one line if it was), anything structured as compact JSON; "" for none."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _one_line(value: Any, max_chars: int) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"
