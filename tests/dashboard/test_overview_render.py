"""The Overview's numbers, tables, filters and settings, without Streamlit."""

from __future__ import annotations

import datetime as dt

import pytest

from loopwise.dashboard.filters import OverviewQuery, TraceQuery
from loopwise.dashboard.overview_render import (
    evaluators_frame,
    flags_frame,
    format_count,
    format_percent,
    format_usd,
    kpis,
    trace_url,
)
from loopwise.dashboard.render import flatten_tree
from loopwise.dashboard.settings import DashboardSettings
from loopwise.dashboard.trace_summary import attached_frame, summarize

NOW = dt.datetime(2026, 5, 1, 12, 0)


@pytest.mark.parametrize(
    ("value", "text"),
    [(950, "950"), (12_345, "12.3k"), (4_560_000, "4.56M"), (2.5, "2.5"), (None, "n/a")],
)
def test_format_count(value: object, text: str) -> None:
    assert format_count(value) == text


def test_format_percent_and_usd() -> None:
    assert [format_percent(v) for v in (0, 0.032, 0.25, None)] == ["0 %", "3.2 %", "25 %", "n/a"]
    assert [format_usd(v) for v in (12.345, 0.00123, None)] == ["$12.35", "$0.0012", "n/a"]


def test_kpis_name_every_headline_number() -> None:
    totals = {
        "traces": 1200,
        "error_rate": 0.05,
        "trace_p50_ms": 850.0,
        "trace_p95_ms": 2500.0,
        "total_tokens": 5_000_000,
        "cost_usd": 3.5,
    }
    numbers = kpis(totals)
    assert [(k.label, k.value) for k in numbers] == [
        ("Traces", "1.2k"),
        ("Error rate", "5 %"),
        ("Latency p50", "850 ms"),
        ("Latency p95", "2.5 s"),
        ("Tokens", "5M"),
        ("Cost", "$3.50"),
    ]


def test_evaluators_frame() -> None:
    frame = evaluators_frame(
        [{"name": "<b>j</b>", "scores": 3, "mean": 0.5, "pass_rate": None, "errored": 1}]
    )
    row = frame.to_dict("records")[0]
    assert (row["evaluator"], row["better"]) == ("<b>j</b>", "higher")  # unknown: higher
    assert list(frame.columns) == [
        "evaluator",
        "scores",
        "mean score",
        "better",
        "pass rate",
        "errored runs",
    ]
    lower = evaluators_frame(
        [
            {
                "name": "latency",
                "scores": 1,
                "mean": 80.0,
                "pass_rate": 1.0,
                "errored": 0,
                "direction": "lower",
            }
        ]
    )
    assert lower.to_dict("records")[0]["better"] == "lower"


def test_flags_frame_links_to_the_trace_and_flattens_values() -> None:
    frame = flags_frame(
        [
            {
                "trace_id": "ab" * 16,
                "rule": "low score",
                "severity": "high",
                "created_at": "2026-01-01T00:00:00",
                "details": {"x": 1},
                "value": "0.2",
                "reason": ["a", "b"],
            }
        ]
    )
    row = frame.to_dict("records")[0]
    assert row["trace"] == "traces?trace=" + "ab" * 16
    assert (row["rule"], row["value"], row["reason"]) == ("low score", 0.2, "['a', 'b']")
    assert trace_url("a b&c") == "traces?trace=a+b%26c"


def test_overview_query_for_a_range_ends_now() -> None:
    query = OverviewQuery.for_range(
        "Last 24 hours", clock=lambda: NOW, project=" shop ", user_id=""
    )
    assert query.params() == {
        "since": "2026-04-30T12:00:00",
        "until": "2026-05-01T12:00:00",
        "project": "shop",
    }
    assert OverviewQuery.for_range("All time", clock=lambda: NOW).params() == {}
    with pytest.raises(KeyError):
        OverviewQuery.for_range("Last decade")


def test_trace_query_params_and_narrowing() -> None:
    query = TraceQuery(limit=10, project="p", session_id=" s ", status=None, tag="")
    assert query.params() == {"limit": 10, "offset": 0, "project": "p", "session_id": "s"}
    assert query.narrowing() == ["session_id"]
    assert TraceQuery(project="p").narrowing() == []


def test_trace_summary_and_attached_tables() -> None:
    tree = [
        {
            "span_id": "r",
            "project": "p",
            "start_time": "2026-01-01T00:00:00",
            "end_time": "2026-01-01T00:00:02",
            "total_tokens": 5,
            "cost_usd": 0.5,
            "session_id": "s",
            "tags": ["a"],
            "children": [
                {
                    "span_id": "c",
                    "start_time": "2026-01-01T00:00:01",
                    "status": "error",
                    "end_time": "2026-01-01T00:00:03",
                    "user_id": "u",
                    "tags": ["a", "b"],
                    "total_tokens": True,
                }
            ],
        }
    ]
    summary = summarize("t" * 32, flatten_tree(tree))
    assert summary.line() == (
        f"Trace {'t' * 32} · project p · started 2026-01-01 00:00:00 UTC · 3.0 s · 2 spans · "
        "1 failed · 5 tokens · $0.5000"
    )
    assert (summary.session_id, summary.user_id, summary.tags) == ("s", "u", ("a", "b"))
    items = [
        {"span_id": None, "name": "helpful", "value": 1.0, "extra": "x"},
        {"span_id": "c", "name": "exact", "passed": False, "metadata": {"k": 1}},
    ]
    assert attached_frame(items, None).to_dict("records") == [{"name": "helpful", "value": 1.0}]
    assert attached_frame(items, "c").to_dict("records") == [{"name": "exact", "passed": False}]
    assert attached_frame(items, "zz").empty


@pytest.mark.parametrize(("raw", "seconds"), [("2.5", 2.5), ("0", 5.0), ("x", 5.0), ("inf", 5.0)])
def test_timeout_from_the_environment(raw: str, seconds: float) -> None:
    assert DashboardSettings.from_env({"LOOPWISE_TIMEOUT_S": raw}).timeout_s == seconds
