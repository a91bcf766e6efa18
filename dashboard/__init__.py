"""The loopwise dashboard: a Streamlit app that reads everything through the collector's
HTTP API (the collector process owns the DuckDB file).

Run it with ``loopwise up`` or ``streamlit run <app_path()>``; point it at a collector with
LOOPWISE_ENDPOINT (default http://127.0.0.1:4318) and LOOPWISE_API_KEY. ``CollectorAPI`` is
the HTTP client the pages use, usable on its own too::

    from loopwise.dashboard import CollectorAPI

    with CollectorAPI("http://127.0.0.1:4318") as api:
        newest = api.recent_traces(limit=10)
"""

from __future__ import annotations

from pathlib import Path

from .api import (
    CollectorAPI,
    CollectorAPIError,
    CollectorError,
    CollectorUnavailable,
    SqlResult,
    TraceDetail,
)


def app_path() -> Path:
    """The Streamlit entry script, for ``streamlit run``."""
    return Path(__file__).with_name("app.py")


__all__ = [
    "CollectorAPI",
    "CollectorAPIError",
    "CollectorError",
    "CollectorUnavailable",
    "SqlResult",
    "TraceDetail",
    "app_path",
]
