"""Trace list, session and user reads at about a million spans: the ``traces`` table against
a plain view over ``spans``.

Loads ~1M spans in ~200k traces (5 spans each: a root chain, an LLM call, a retriever, a
tool, a second LLM call) through ``Store.append_spans`` in 4,096-span batches, the way the
collector's writer appends them, so the ``traces`` table is maintained the real way. A
fifth of the traces arrive split over two batches with the root last (long-running traces
exported in pieces), and every 50th batch is resent. Then it times the reads behind the
JSON API (p50/p95 over repeated runs) and the same questions asked of a view that groups
``spans`` on every read.

    python bench/traces.py [--spans 1000000] [--runs 30]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from rich.console import Console
from rich.table import Table

from loopwise.collector.store import (
    SPAN_ARROW_SCHEMA,
    Store,
    TraceFilter,
    count_traces,
    list_sessions,
    list_traces,
    list_users,
    session_traces,
    trace_summary,
)

sys.path.insert(0, str(Path(__file__).parent))
from ingest import machine, write_section

SPANS_PER_TRACE = 5
BATCH_SPANS = 4096
PROJECTS = ("support-bot", "search", "billing-agent")
WORDS = [
    "refund",
    "order",
    "shipping",
    "delayed",
    "account",
    "password",
    "invoice",
    "charge",
    "parcel",
    "label",
]
START = dt.datetime(2026, 1, 1)

# The same questions asked of spans directly: what a plain view costs on every read.
VIEW_SQL = """
CREATE OR REPLACE VIEW traces_view AS
SELECT trace_id,
       arg_min(project, (parent_span_id IS NOT NULL, start_time)) AS project,
       arg_min(name, (parent_span_id IS NOT NULL, start_time)) AS root_name,
       min(start_time) AS start_time, max(end_time) AS end_time,
       count(*) AS span_count, count(*) FILTER (WHERE status = 'error') AS error_count,
       sum(total_tokens) AS total_tokens, sum(cost_usd) AS cost_usd,
       min(session_id) AS session_id, min(user_id) AS user_id
FROM spans GROUP BY trace_id
"""


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _trace_spans(rng: random.Random, number: int) -> list[dict[str, Any]]:
    """The five spans of trace ``number``; the root is first."""
    trace_id = f"{rng.getrandbits(128):032x}"
    ids = [f"{rng.getrandbits(64):016x}" for _ in range(SPANS_PER_TRACE)]
    start = START + dt.timedelta(seconds=number * 0.5)
    session = f"session-{number // 10:06d}"  # ten turns per session
    user = f"user-{(number // 10) % 2000:04d}"
    project = PROJECTS[number % len(PROJECTS)]
    failed = rng.random() < 0.03
    question = _text(rng, 40)
    answer = _text(rng, 60)
    names = ("answer", "chat model-a", "retrieve", "lookup_order", "chat model-b")
    kinds = ("chain", "llm", "retriever", "tool", "llm")
    spans = []
    for i, (name, kind) in enumerate(zip(names, kinds, strict=True)):
        begin = start + dt.timedelta(milliseconds=10 * i)
        end = start + dt.timedelta(milliseconds=900 if i == 0 else 10 * i + 200)
        llm = kind == "llm"
        spans.append(
            {
                "project": project,
                "trace_id": trace_id,
                "span_id": ids[i],
                "parent_span_id": None if i == 0 else ids[0],
                "name": name,
                "kind": kind,
                "status": "error" if failed and i == 3 else "ok",
                "status_message": "timeout" if failed and i == 3 else None,
                "start_time": begin,
                "end_time": end,
                "duration_ms": (end - begin).total_seconds() * 1000,
                "service_name": project,
                "model": "model-a" if llm else None,
                "provider": "openai" if llm else None,
                "input": question if i in (0, 1) else _text(rng, 8),
                "output": answer if i in (0, 4) else _text(rng, 12),
                "input_tokens": 300 if llm else None,
                "output_tokens": 120 if llm else None,
                "total_tokens": 420 if llm else None,
                "cost_usd": 0.0021 if llm else None,
                "session_id": session,
                "user_id": user,
                "tags": ["production", f"tier-{number % 3}"] if i == 0 else [],
                "metadata": None,
                "attributes": "{}",
                "resource": '{"service.name": "bench"}',
                "events": None,
                "ingested_at": start,
            }
        )
    return spans


def span_batches(total_spans: int, seed: int = 7) -> Iterator[pa.Table]:
    """Batches of span rows in the spans schema. A fifth of the traces are split: their
    children come in one batch and their root in the next."""
    rng = random.Random(seed)
    held_roots: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for number in range(total_spans // SPANS_PER_TRACE):
        spans = _trace_spans(rng, number)
        if number % 5 == 0:
            rows += spans[1:]
            held_roots.append(spans[0])
        else:
            rows += spans
        if len(rows) >= BATCH_SPANS:
            rng.shuffle(rows)
            yield _table(rows)
            rows = held_roots
            held_roots = []
    rows += held_roots
    if rows:
        yield _table(rows)


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    columns = {
        field.name: pa.array([row.get(field.name) for row in rows], field.type)
        for field in SPAN_ARROW_SCHEMA
    }
    return pa.table(columns, schema=SPAN_ARROW_SCHEMA)


def load(store: Store, total_spans: int) -> tuple[int, float]:
    """Append every batch (resending every 50th); return spans stored and append seconds."""
    appended = 0
    seconds = 0.0
    for index, batch in enumerate(span_batches(total_spans)):
        started = time.perf_counter()
        appended += store.append_spans(batch)
        if index % 50 == 49:
            store.append_spans(batch)  # a client retry: must change nothing
        seconds += time.perf_counter() - started
    return appended, seconds


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """p50 and p95 of ``runs`` calls, in milliseconds (after one warm-up call)."""
    fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def cases(store: Store) -> list[tuple[str, Callable[[], object], Callable[[], object] | None]]:
    """(name, read through the traces table, the same read through the view)."""
    session = "session-010000"
    user = "user-0042"
    some_trace = store.query("SELECT trace_id FROM traces LIMIT 1 OFFSET 12345").rows[0][0]

    def view(sql: str, params: list[Any] | None = None) -> Callable[[], object]:
        return lambda: store.query(sql, params or []).rows

    newest = "SELECT * FROM traces_view ORDER BY start_time DESC, trace_id DESC LIMIT 50"
    return [
        (
            "newest 50 traces (+ total)",
            lambda: list_traces(store, limit=50),
            view(newest),
        ),
        (
            "session filter",
            lambda: list_traces(store, TraceFilter(session_id=session), limit=50),
            view("SELECT * FROM traces_view WHERE session_id = ? LIMIT 50", [session]),
        ),
        (
            "user filter",
            lambda: list_traces(store, TraceFilter(user_id=user), limit=50),
            view("SELECT * FROM traces_view WHERE user_id = ? LIMIT 50", [user]),
        ),
        (
            "project + errors filter",
            lambda: list_traces(store, TraceFilter(project="search", has_errors=True), limit=50),
            view(
                "SELECT * FROM traces_view WHERE project = ? AND error_count > 0 "
                "ORDER BY start_time DESC LIMIT 50",
                ["search"],
            ),
        ),
        (
            "count all traces",
            lambda: count_traces(store),
            view("SELECT count(*) FROM traces_view"),
        ),
        (
            "count one project",
            lambda: count_traces(store, TraceFilter(project="billing-agent")),
            view("SELECT count(*) FROM traces_view WHERE project = ?", ["billing-agent"]),
        ),
        ("sessions page", lambda: list_sessions(store, limit=50), None),
        ("users page", lambda: list_users(store, limit=50), None),
        ("one session's traces", lambda: session_traces(store, session), None),
        ("one trace's summary", lambda: trace_summary(store, some_trace), None),
    ]


def main() -> None:
    """Load, time the reads, print the table, and write it into bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30, help="timed runs per query")
    parser.add_argument("--view-runs", type=int, default=5, help="timed runs per view query")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.duckdb") as store:
        console.print(f"loading {args.spans:,} spans ...")
        stored, load_s = load(store, args.spans)
        traces = count_traces(store)
        store.query(VIEW_SQL)
        load_before = os.getloadavg()[0]
        rows = []
        for name, table_read, view_read in cases(store):
            p50, p95 = timed(table_read, args.runs)
            view_p50 = timed(view_read, args.view_runs)[0] if view_read else None
            rows.append((name, p50, p95, view_p50))
        load_after = os.getloadavg()[0]

    table = Table(title=f"traces reads at {stored:,} spans / {traces:,} traces")
    for column in ("read", "table p50 ms", "table p95 ms", "plain view p50 ms"):
        table.add_column(column, justify="right")
    lines = [
        "| read | traces table p50 ms | p95 ms | plain view p50 ms |",
        "|---|---:|---:|---:|",
    ]
    for name, p50, p95, view_p50 in rows:
        view_text = f"{view_p50:.1f}" if view_p50 is not None else "-"
        table.add_row(name, f"{p50:.1f}", f"{p95:.1f}", view_text)
        lines.append(f"| {name} | {p50:.1f} | {p95:.1f} | {view_text} |")
    console.print(table)
    load_line = (
        f"Loaded {stored:,} spans through `Store.append_spans` in {BATCH_SPANS:,}-span "
        f"batches at {stored / load_s:,.0f} spans/s (spans and traces maintained together)."
    )
    console.print(load_line)
    section = "\n".join(
        [
            "## traces (bench/traces.py)",
            "",
            f"{dt.date.today().isoformat()} · {machine()} · load average {load_before:.1f} "
            f"before and {load_after:.1f} after timing (other work shares the cores)",
            "",
            f"{stored:,} spans in {traces:,} traces (5 spans each; a fifth arrive split over two "
            "batches, root last; every 50th batch resent). Reads behind the JSON API, "
            f"{args.runs} runs each, against a plain view grouping `spans` "
            f"({args.view_runs} runs). Target: < 50 ms for the list, filters and counts.",
            "",
            *lines,
            "",
            load_line,
            "",
        ]
    )
    write_section(Path(__file__).with_name("RESULTS.md"), "## traces", section)


if __name__ == "__main__":
    main()
