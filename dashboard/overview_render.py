"""The Overview's numbers and tables, from API records. No Streamlit here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pandas as pd

from .api import Record
from .cluster_labels import readable_label
from .render import better_text, format_duration

UNKNOWN = "n/a"
"""What a number shows as when the collector does not know it."""


def format_count(value: object) -> str:
    """A count for people: ``950``, ``12.3k``, ``4.56M``; ``UNKNOWN`` when unknown."""
    if not isinstance(value, int | float):
        return UNKNOWN
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


def format_percent(share: object) -> str:
    """A share in 0..1 as a percentage: ``3.2 %``; ``UNKNOWN`` when unknown."""
    if not isinstance(share, int | float):
        return UNKNOWN
    percent = share * 100
    return f"{percent:.0f} %" if percent >= 10 or percent == 0 else f"{percent:.2g} %"


def format_usd(value: object) -> str:
    """Dollars: ``$12.34``, or four decimals under a dollar; ``UNKNOWN`` when unknown."""
    if not isinstance(value, int | float):
        return UNKNOWN
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:.4f}"


def format_ms(value: object) -> str:
    """A duration in ms for people (``850 ms``, ``1.2 s``); ``UNKNOWN`` when unknown."""
    return format_duration(float(value)) if isinstance(value, int | float) else UNKNOWN


@dataclass(frozen=True)
class Kpi:
    """One headline number: its label, the value as text, and a plain-text explanation."""

    label: str
    value: str
    help: str


def kpis(totals: Record) -> list[Kpi]:
    """The Overview's headline numbers for the whole window."""
    return [
        Kpi("Traces", format_count(totals.get("traces")), "Traces that started in the range."),
        Kpi(
            "Error rate",
            format_percent(totals.get("error_rate")),
            f"{format_count(totals.get('error_traces'))} traces with at least one failed span.",
        ),
        Kpi(
            "Latency p50",
            format_ms(totals.get("trace_p50_ms")),
            f"Median trace duration. LLM calls: {format_ms(totals.get('llm_p50_ms'))}.",
        ),
        Kpi(
            "Latency p95",
            format_ms(totals.get("trace_p95_ms")),
            f"95th percentile of trace duration. LLM calls: {format_ms(totals.get('llm_p95_ms'))}.",
        ),
        Kpi(
            "Tokens",
            format_count(totals.get("total_tokens")),
            f"{format_count(totals.get('input_tokens'))} in, "
            f"{format_count(totals.get('output_tokens'))} out, "
            f"over {format_count(totals.get('llm_calls'))} LLM calls; a span reporting the "
            "sum of its child calls is not added again.",
        ),
        Kpi(
            "Cost",
            format_usd(totals.get("cost_usd")),
            "Sum of the cost recorded on spans, each model call counted once.",
        ),
    ]


EVALUATOR_COLUMNS = {
    "name": "evaluator",
    "scores": "scores",
    "mean": "mean score",
    "direction": "better",
    "pass_rate": "pass rate",
    "errored": "errored runs",
}


def evaluators_frame(evaluators: Iterable[Record]) -> pd.DataFrame:
    """One row per evaluator: scores in the window, mean value, which way it is better, pass
    rate (errored runs count against it), errored runs."""
    frame = pd.DataFrame.from_records(list(evaluators), columns=list(EVALUATOR_COLUMNS))
    frame["direction"] = [better_text(d) for d in frame["direction"]]
    for column in ("mean", "pass_rate"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    for column in ("scores", "errored"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    frame["name"] = frame["name"].astype("string")
    return frame.rename(columns=EVALUATOR_COLUMNS)


FLAG_COLUMNS = {
    "created_at": "flagged at (UTC)",
    "severity": "severity",
    "trace": "trace",
    "rule": "rule",
    "reason": "reason",
    "evaluator": "evaluator",
    "value": "value",
    "span_name": "span",
    "cluster_label": "cluster",
    "project": "project",
}
"""Flag field → column heading, in display order; ``trace`` is a link to the Traces page."""


def trace_url(trace_id: object, page_url: str = "traces") -> str:
    """The dashboard URL that opens one trace on the Traces page (relative to the app)."""
    return f"{page_url}?{urlencode({'trace': str(trace_id)})}"


def flags_frame(flags: Iterable[Record]) -> pd.DataFrame:
    """Flags as a table of plain values; ``trace`` holds the link that opens the trace."""
    records: list[dict[str, Any]] = []
    for flag in flags:
        record = {key: _cell(flag.get(key)) for key in FLAG_COLUMNS if key != "trace"}
        if record["cluster_label"] is not None:
            record["cluster_label"] = readable_label(record["cluster_label"])
        trace_id = flag.get("trace_id")
        record["trace"] = trace_url(trace_id) if trace_id else None
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=list(FLAG_COLUMNS))
    frame["created_at"] = pd.to_datetime(
        frame["created_at"], errors="coerce", format="ISO8601", utc=True
    )
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return frame.rename(columns=FLAG_COLUMNS)


def _cell(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
