"""Plotly figures: untrusted names stay text, time axes span the window, the waterfall."""

from __future__ import annotations

import datetime as dt

from loopwise.dashboard.charts import (
    TimeAxis,
    latency_figure,
    plotly_text,
    score_trends_figure,
    traces_figure,
    waterfall_figure,
)
from loopwise.dashboard.render import flatten_tree


def test_plotly_text_turns_tags_into_entities_on_one_line() -> None:
    assert plotly_text("<b>x</b> & <a href='javascript:1'>") == (
        "&lt;b&gt;x&lt;/b&gt; &amp; &lt;a href='javascript:1'&gt;"
    )
    assert plotly_text("a\nb", max_chars=2) == "a…"


def test_time_axis_reads_the_window_and_centers_buckets() -> None:
    axis = TimeAxis.from_window(
        {"since": "2026-01-01T10:20:00", "until": "2026-01-01T12:10:00", "bucket_seconds": 3600}
    )
    assert axis is not None
    assert axis.x_range() == (dt.datetime(2026, 1, 1, 10), dt.datetime(2026, 1, 1, 13))
    assert axis.center("2026-01-01T10:00:00") == dt.datetime(2026, 1, 1, 10, 30)
    assert axis.center("not a time") == "not a time"
    for bad in (None, {}, {"since": "x", "until": "y", "bucket_seconds": 60}, []):
        assert TimeAxis.from_window(bad) is None


def test_traffic_figures_stack_errors_and_span_the_window() -> None:
    series = [
        {"bucket": "2026-01-01T10:00:00", "traces": 5, "error_traces": 2, "trace_p50_ms": 10.0},
        {"bucket": "2026-01-01T11:00:00", "traces": 0, "error_traces": 0, "trace_p50_ms": None},
    ]
    axis = TimeAxis(dt.datetime(2026, 1, 1, 10), dt.datetime(2026, 1, 1, 12), 3600)
    clean, failed = traces_figure(series, axis).data
    assert (list(clean.y), list(failed.y)) == ([3, 0], [2, 0])
    assert clean.x[0] == dt.datetime(2026, 1, 1, 10, 30)
    latency = latency_figure(series, axis)
    assert list(latency.data[0].y) == [10.0, None]
    assert list(latency.layout.xaxis.range) == [
        dt.datetime(2026, 1, 1, 10),
        dt.datetime(2026, 1, 1, 12),
    ]


def test_score_trend_lines_are_named_as_text() -> None:
    series = [
        {"bucket": "2026-01-01T10:00:00", "name": "<img src=x>", "mean": 0.5, "pass_rate": 1.0},
        {"bucket": "2026-01-01T11:00:00", "name": "<img src=x>", "mean": None, "pass_rate": 0},
    ]
    [line] = score_trends_figure(series, "pass_rate").data
    assert line.name == "&lt;img src=x&gt;"
    assert list(line.y) == [1.0, 0.0]


def test_waterfall_places_spans_by_start_and_keeps_tiny_spans_visible() -> None:
    tree = [
        {
            "span_id": "r",
            "name": "root <b>",
            "kind": "agent",
            "status": "ok",
            "start_time": "2026-01-01T00:00:00",
            "duration_ms": 1000.0,
            "children": [
                {
                    "span_id": "a",
                    "name": "tool",
                    "kind": "tool",
                    "status": "error",
                    "start_time": "2026-01-01T00:00:00.250000",
                    "duration_ms": 0.01,
                },
                {"span_id": "b", "name": "odd", "kind": "unheard-of", "start_time": None},
            ],
        }
    ]
    [bars] = waterfall_figure(flatten_tree(tree)).data
    assert list(bars.y) == ["1. root &lt;b&gt;", "2. └─ odd", "3. └─ tool"]
    assert list(bars.base) == [0.0, 0.0, 250.0]
    assert bars.x[0] == 1000.0 and bars.x[2] == 4.0  # 0.4 % of the longest span
    assert bars.marker.line.color[2] == "#d62728"  # failed: outlined in red
    assert "&lt;b&gt;" in bars.hovertext[0]
