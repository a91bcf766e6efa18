"""Open flags on the Overview and flags on a trace, from a collector hosting the evaluation
API (its online worker off), with flags stored in its file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import SPAN_ARROW_SCHEMA, Store
from loopwise.evals import EvalsExtension

OpenPage = Callable[..., AppTest]
Texts = Callable[[AppTest], list[str]]

T0 = dt.datetime(2026, 2, 1, 9, 0)
TRACE = "ab" * 16
SPAN = "cd" * 8
REASON = "score 0.1 < 0.5 <img src=x onerror=alert(1)> [x](javascript:alert(1))"


def spans() -> pa.Table:
    rows: list[dict[str, Any]] = [
        {
            "project": "shop",
            "trace_id": TRACE,
            "span_id": "ef" * 8,
            "parent_span_id": None,
            "name": "root",
            "kind": "chain",
            "status": "ok",
            "start_time": T0,
            "end_time": T0 + dt.timedelta(seconds=1),
            "duration_ms": 1000.0,
            "tags": [],
            "ingested_at": T0,
        },
        {
            "project": "shop",
            "trace_id": TRACE,
            "span_id": SPAN,
            "parent_span_id": "ef" * 8,
            "name": "answer",
            "kind": "llm",
            "status": "ok",
            "start_time": T0,
            "end_time": T0 + dt.timedelta(milliseconds=500),
            "duration_ms": 500.0,
            "tags": [],
            "ingested_at": T0,
        },
    ]
    return pa.Table.from_pylist(rows, schema=SPAN_ARROW_SCHEMA)


def flags() -> pa.Table:
    def flag(number: int, status: str, span_id: str | None) -> dict[str, Any]:
        return {
            "flag_id": f"flag-{number}",
            "project": "shop",
            "trace_id": TRACE,
            "span_id": span_id,
            "span_name": "answer" if span_id else None,
            "rule": "low helpfulness",
            "cause_key": f"cause-{number}",
            "reason": REASON,
            "severity": "high",
            "evaluator": "helpfulness",
            "value": 0.1,
            "status": status,
            "created_at": T0 + dt.timedelta(minutes=number),
        }

    return pa.Table.from_pylist(
        [flag(1, "open", SPAN), flag(2, "open", None), flag(3, "resolved", SPAN)]
    )


@pytest.fixture(scope="module")
def flagged_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A collector with the evaluation API, one trace and three flags (two open)."""
    db = tmp_path_factory.mktemp("flags") / "f.duckdb"
    with Store(db) as store:
        store.append_spans(spans())
        store.append_rows("flags", flags())
    config = CollectorConfig(db_path=db, port=0)
    with CollectorServer(config, extensions=[EvalsExtension(online=False)]) as server:
        yield server.url


def test_overview_lists_open_flags_linking_to_their_trace(
    open_page: OpenPage, flagged_url: str, markdown_texts: Texts
) -> None:
    at = open_page("overview", flagged_url)
    at.selectbox(key="overview.range").set_value("All time").run()
    [table] = [t.value for t in at.dataframe if "rule" in t.value.columns]
    assert len(table) == 2
    assert list(table["reason"]) == [REASON, REASON]  # text in cells, never Markdown
    assert set(table["trace"]) == {f"traces?trace={TRACE}"}
    assert list(table["span"].fillna("-")) == ["-", "answer"]  # newest first
    assert not [t for t in markdown_texts(at) if "<img" in t or "javascript" in t]


def test_trace_shows_its_flags_on_the_trace_and_the_span(
    open_page: OpenPage, flagged_url: str
) -> None:
    at = open_page("traces", flagged_url, query={"trace": TRACE})
    flag_tables = [t.value for t in at.dataframe if "rule" in t.value.columns]
    trace_level, span_level = flag_tables
    assert list(trace_level["status"]) == ["open"]
    assert sorted(span_level["status"]) == ["open", "resolved"]
    assert not [c.value for c in at.caption if "not available" in c.value]
