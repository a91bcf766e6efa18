"""The loopwise dashboard: a Streamlit app that reads everything through the collector's
HTTP API (the collector process owns the DuckDB file).

Run it with ``loopwise up`` or ``streamlit run <app_path()>``; point it at a collector with
LOOPWISE_ENDPOINT (default http://127.0.0.1:4318), LOOPWISE_API_KEY and LOOPWISE_TIMEOUT_S.
Pages: Overview (traffic, errors, latency, tokens, cost, score trends, open flags) and Traces
(search, timeline, span details; ``/traces?trace=<id>`` opens a trace), Sessions and Users
(each linking to its traces); and to improve: Review queue (flagged items by failure
cluster: approve, correct, reject), Datasets, Prompts (diffs, proposals adopted by a
person), Evaluators (score distributions, judge calibration) and Runs (suite runs side by
side). ``CollectorAPI`` is
the HTTP client the pages use, usable on its own too::

    from loopwise.dashboard import CollectorAPI

    with CollectorAPI("http://127.0.0.1:4318") as api:
        newest = api.recent_traces(limit=10)
"""

from __future__ import annotations

from pathlib import Path

from .api import (
    ApiError,
    CollectorAPI,
    CollectorUnreachable,
    GroupPage,
    RouteMissing,
    SqlResult,
    TraceDetail,
    TracePage,
)
from .filters import TIME_RANGES, OverviewQuery, TraceQuery
from .launch import STREAMLIT_OPTIONS, TOOLBAR_MODE, streamlit_command
from .navigation import PAGES, PageSpec


def app_path() -> Path:
    """The Streamlit entry script, for ``streamlit run``."""
    return Path(__file__).with_name("app.py")


__all__ = [
    "PAGES",
    "STREAMLIT_OPTIONS",
    "TIME_RANGES",
    "TOOLBAR_MODE",
    "ApiError",
    "CollectorAPI",
    "CollectorUnreachable",
    "GroupPage",
    "OverviewQuery",
    "PageSpec",
    "RouteMissing",
    "SqlResult",
    "TraceDetail",
    "TracePage",
    "TraceQuery",
    "app_path",
    "streamlit_command",
]
