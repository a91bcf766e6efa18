"""Plotly figures of the dashboard, built from API records. No Streamlit here.

Plotly reads a few HTML tags in any text it draws (``<b>``, ``<br>``, ``<a href>``), so every
string that came from the API (evaluator, span and model names) goes through
``plotly_text`` first: its tags then show as the literal characters they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from loopwise.collector.times import maybe_utc

from .api import Record
from .render import SpanRow, format_duration, indented_name

SMALL_CHART_PX = 260
WATERFALL_ROW_PX = 24
MIN_BAR_SHARE = 0.004
"""The shortest bar on a timeline, as a share of the longest span, so every span shows."""
ERROR_COLOR = "#d62728"
OK_COLOR = "#1f77b4"
KIND_COLORS = {
    "llm": "#7e57c2",
    "chain": "#1f77b4",
    "agent": "#2ca02c",
    "tool": "#ff7f0e",
    "retriever": "#17becf",
    "embedding": "#8c564b",
    "evaluator": "#bcbd22",
    "guardrail": "#e377c2",
}
OTHER_KIND_COLOR = "#7f7f7f"

_PLOTLY_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def plotly_text(text: object, max_chars: int | None = None) -> str:
    """``text`` made literal for Plotly: one line, ``&``, ``<`` and ``>`` as entities."""
    plain = " ".join(str(text).split())
    if max_chars is not None and len(plain) > max_chars:
        plain = plain[: max(max_chars - 1, 0)] + "…"
    return plain.translate(_PLOTLY_ESCAPES)


@dataclass(frozen=True)
class TimeAxis:
    """The window a time chart spans and its bucket width: bars and points sit at the
    middle of their bucket, and every chart of a page shows the same range."""

    since: dt.datetime
    until: dt.datetime
    bucket_seconds: int

    @classmethod
    def from_window(cls, window: object) -> TimeAxis | None:
        """The axis of an API answer's ``window`` (since, until, bucket_seconds); None when
        it is missing or malformed."""
        if not isinstance(window, dict):
            return None
        since, until = _parse_time(window.get("since")), _parse_time(window.get("until"))
        width = window.get("bucket_seconds")
        if since is None or until is None or not isinstance(width, int) or width <= 0:
            return None
        return cls(since, until, width)

    def x_range(self) -> tuple[dt.datetime, dt.datetime]:
        """From the start of the first bucket to the end of the last (buckets are aligned to
        the Unix epoch, as the collector cuts them), so no bar or point is clipped."""
        first = _bucket_floor(self.since, self.bucket_seconds)
        last = _bucket_floor(self.until - dt.timedelta(microseconds=1), self.bucket_seconds)
        return first, last + dt.timedelta(seconds=self.bucket_seconds)

    def center(self, bucket: object) -> object:
        """The middle of the bucket starting at ``bucket`` (kept as is when unreadable)."""
        start = _parse_time(bucket)
        return start + dt.timedelta(seconds=self.bucket_seconds / 2) if start else bucket


def _layout(
    figure: go.Figure, title: str, height: int = SMALL_CHART_PX, axis: TimeAxis | None = None
) -> go.Figure:
    if axis is not None:
        figure.update_xaxes(range=list(axis.x_range()))
    figure.update_layout(
        title={"text": title, "font": {"size": 14}},
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.15, "x": 0},
        hovermode="x unified",
        bargap=0.1,
    )
    return figure


def _times(series: Iterable[Record], axis: TimeAxis | None) -> list[Any]:
    buckets = [row.get("bucket") for row in series]
    return [axis.center(b) for b in buckets] if axis is not None else buckets


def _values(series: Sequence[Record], name: str, scale: float = 1.0) -> list[float | None]:
    values: list[float | None] = []
    for row in series:
        value = row.get(name)
        values.append(value * scale if isinstance(value, int | float) else None)
    return values


def traces_figure(series: Sequence[Record], axis: TimeAxis | None = None) -> go.Figure:
    """Traces per bucket, stacked: without errors, with at least one error span."""
    times = _times(series, axis)
    errors = [int(row.get("error_traces") or 0) for row in series]
    clean = [max(int(row.get("traces") or 0) - e, 0) for row, e in zip(series, errors, strict=True)]
    figure = go.Figure(
        [
            go.Bar(x=times, y=clean, name="without errors", marker_color=OK_COLOR),
            go.Bar(x=times, y=errors, name="with errors", marker_color=ERROR_COLOR),
        ]
    )
    figure.update_layout(barmode="stack")
    return _layout(figure, "Traces", axis=axis)


def error_rate_figure(series: Sequence[Record], axis: TimeAxis | None = None) -> go.Figure:
    """Share of traces with an error span, per bucket, in percent."""
    figure = go.Figure(
        go.Scatter(
            x=_times(series, axis),
            y=_values(series, "error_rate", 100.0),
            name="error rate",
            mode="lines+markers",
            line_color=ERROR_COLOR,
            connectgaps=False,
        )
    )
    figure.update_yaxes(ticksuffix=" %", rangemode="tozero")
    return _layout(figure, "Error rate (traces with an error)", axis=axis)


def latency_figure(series: Sequence[Record], axis: TimeAxis | None = None) -> go.Figure:
    """p50 and p95 of trace (root span) and LLM call durations per bucket, in ms."""
    times = _times(series, axis)
    lines = [
        ("trace p50", "trace_p50_ms", "solid", OK_COLOR),
        ("trace p95", "trace_p95_ms", "solid", "#ff7f0e"),
        ("LLM p50", "llm_p50_ms", "dot", KIND_COLORS["llm"]),
        ("LLM p95", "llm_p95_ms", "dot", "#e377c2"),
    ]
    figure = go.Figure(
        [
            go.Scatter(
                x=times,
                y=_values(series, key),
                name=name,
                mode="lines+markers",
                marker={"size": 4},
                line={"dash": dash, "color": color},
            )
            for name, key, dash, color in lines
        ]
    )
    figure.update_yaxes(ticksuffix=" ms", rangemode="tozero")
    return _layout(figure, "Latency", axis=axis)


def tokens_cost_figure(series: Sequence[Record], axis: TimeAxis | None = None) -> go.Figure:
    """Input and output tokens per bucket (stacked bars) and cost in USD (line, right axis)."""
    times = _times(series, axis)
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(go.Bar(x=times, y=_values(series, "input_tokens"), name="input tokens"))
    figure.add_trace(go.Bar(x=times, y=_values(series, "output_tokens"), name="output tokens"))
    figure.add_trace(
        go.Scatter(
            x=times,
            y=_values(series, "cost_usd"),
            name="cost (USD)",
            mode="lines",
            line_color="#2ca02c",
        ),
        secondary_y=True,
    )
    figure.update_layout(barmode="stack")
    figure.update_yaxes(title_text="tokens", secondary_y=False, rangemode="tozero")
    figure.update_yaxes(title_text="USD", secondary_y=True, tickprefix="$", rangemode="tozero")
    return _layout(figure, "Tokens and cost", axis=axis)


def score_trends_figure(
    series: Iterable[Record], metric: str = "mean", axis: TimeAxis | None = None
) -> go.Figure:
    """One line per evaluator: its ``metric`` (mean value or pass rate) per bucket. Mean
    lines of evaluators where lower is better (or that have no better side) say so in the
    legend."""
    by_name: dict[str, tuple[list[Any], list[float | None]]] = {}
    for row in series:
        name = str(row.get("name"))
        if metric == "mean" and row.get("direction") in ("lower", "none"):
            name += " (lower is better)" if row["direction"] == "lower" else " (no better side)"
        times, values = by_name.setdefault(name, ([], []))
        times.append(axis.center(row.get("bucket")) if axis is not None else row.get("bucket"))
        value = row.get(metric)
        values.append(float(value) if isinstance(value, int | float) else None)
    figure = go.Figure(
        [
            go.Scatter(
                x=times,
                y=values,
                name=plotly_text(name, 40),
                mode="lines+markers",
                hovertemplate="%{y:.3f}",
            )
            for name, (times, values) in sorted(by_name.items())
        ]
    )
    title = "Mean score per evaluator" if metric == "mean" else "Pass rate per evaluator"
    figure.update_yaxes(rangemode="tozero")
    return _layout(figure, title, height=320, axis=axis)


def waterfall_figure(rows: Sequence[SpanRow]) -> go.Figure:
    """The trace as a timeline: one bar per span from its start to its end, in tree order,
    coloured by kind; failed spans are outlined in red."""
    starts = [_parse_time(row.span.get("start_time")) for row in rows]
    known = [s for s in starts if s is not None]
    origin = min(known) if known else None
    total_ms = max((_number(row.span.get("duration_ms")) for row in rows), default=0.0)
    min_width = max(total_ms * MIN_BAR_SHARE, 0.001)  # a 0.02 ms span still shows
    labels, offsets, durations, colors, outlines, hovers = [], [], [], [], [], []
    for number, (row, start) in enumerate(zip(rows, starts, strict=True), start=1):
        span = row.span
        duration_ms = _number(span.get("duration_ms"))
        offset = (start - origin) / dt.timedelta(milliseconds=1) if start and origin else 0.0
        kind = str(span.get("kind") or "other")
        failed = span.get("status") == "error"
        labels.append(f"{number}. {plotly_text(indented_name(row), 60)}")
        offsets.append(offset)
        durations.append(max(duration_ms, min_width))
        colors.append(KIND_COLORS.get(kind, OTHER_KIND_COLOR))
        outlines.append(ERROR_COLOR if failed else "rgba(0,0,0,0)")
        hovers.append(
            f"{plotly_text(span.get('name') or '(unnamed)', 80)}<br>"
            f"{plotly_text(kind)} · {plotly_text(span.get('status') or '?')} · "
            f"{format_duration(duration_ms)} · starts at +{format_duration(offset)}"
        )
    figure = go.Figure(
        go.Bar(
            y=labels,
            x=durations,
            base=offsets,
            orientation="h",
            marker={"color": colors, "line": {"color": outlines, "width": 2}},
            hovertext=hovers,
            hoverinfo="text",
            showlegend=False,
        )
    )
    figure.update_yaxes(autorange="reversed", type="category")
    figure.update_xaxes(title_text="ms since the trace started", rangemode="tozero")
    _layout(figure, "", height=60 + WATERFALL_ROW_PX * max(len(rows), 1))
    figure.update_layout(hovermode="closest", margin={"t": 10})
    return figure


def _bucket_floor(moment: dt.datetime, width_s: int) -> dt.datetime:
    epoch = dt.datetime(1970, 1, 1)
    width = dt.timedelta(seconds=width_s)
    return epoch + ((moment - epoch) // width) * width


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _parse_time(value: object) -> dt.datetime | None:
    """A time from the API as naive UTC (the API writes ``...Z`` or naive ISO 8601)."""
    return maybe_utc(value)
