"""Feedback loop costs: dataset versions, review items, calibration and prompt fetching.

Runs on a fresh DuckDB file (and a collector on 127.0.0.1 for the SDK's prompt fetch):

- creating a dataset of N examples, adding to it (a version copies the membership list),
  reading a version back, and a folder save + restore round trip;
- opening review items for 10,000 flags, the background sync when nothing is new (it runs
  every 2 s inside the collector, over a scores table of 200,000 rows), and one review
  action (correct, with two verdicts) end to end;
- calibrating over 10,000 judge/human pairs;
- ``loopwise.prompt()`` served from memory and fetched over HTTP each time.

    python bench/feedback.py [--examples 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
from rich.console import Console
from rich.table import Table

import loopwise
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import SPAN_ARROW_SCHEMA, ScoreRow, Store, append_scores
from loopwise.feedback import (
    Example,
    FeedbackExtension,
    HttpBackend,
    act,
    calibrate,
    change_dataset,
    create_dataset,
    dataset_snapshot,
    list_items,
    read_dataset_dir,
    read_version,
    restore_snapshot,
    save_dataset_dir,
    sync_review_items,
)

sys.path.insert(0, str(Path(__file__).parent))
from ingest import machine, write_section

Row = tuple[str, str, str]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def examples(count: int, offset: int = 0) -> list[Example]:
    return [
        Example(
            {"subject": f"Ticket {i}", "body": "Where is my parcel? " * 10},
            f"Reply {i}: it ships tomorrow. " * 5,
            {"ticket_id": f"T{i}", "category": "shipping"},
        )
        for i in range(offset, offset + count)
    ]


def bench_datasets(store: Store, count: int, folder: Path) -> list[Row]:
    rows: list[Row] = []
    seconds, _ = timed(lambda: create_dataset(store, "bench", examples(count), actor="bench"))
    rows.append(
        (
            f"create a dataset of {count:,} examples",
            f"{seconds:.2f} s",
            f"{count / seconds:,.0f} examples/s",
        )
    )
    samples = []
    for step in range(5):
        more = examples(100, count + step * 100)
        seconds, _ = timed(
            lambda more=more: change_dataset(store, "bench", actor="bench", add=more)
        )
        samples.append(seconds)
    rows.append(
        (
            f"new version: +100 examples to {count:,}",
            f"{statistics.median(samples) * 1000:.0f} ms",
            "median of 5",
        )
    )
    seconds, (_, read) = timed(lambda: read_version(store, "bench", 1))
    rows.append(
        (
            f"read a version of {len(read):,} examples",
            f"{seconds * 1000:.0f} ms",
            f"{len(read) / seconds:,.0f} examples/s",
        )
    )
    other = Store(folder / "restore.duckdb")
    seconds, _ = timed(lambda: save_dataset_dir(dataset_snapshot(store, "bench"), folder))
    restore_s, _ = timed(lambda: restore_snapshot(other, read_dataset_dir(folder / "bench")))
    other.close()
    rows.append(("save all 6 versions to datasets/<name>/", f"{seconds:.2f} s", ""))
    rows.append(("restore them into an empty database", f"{restore_s:.2f} s", ""))
    return rows


def bench_reviews(store: Store, flags: int) -> list[Row]:
    rows: list[Row] = []
    spans = _spans(store, 200)
    store.query(
        "INSERT INTO flags (flag_id, project, trace_id, span_id, rule, cause_key, reason, "
        "severity, evaluator, created_at) SELECT 'f' || i, 'bench', ?, ?, 'rule', 'c' || i, "
        "'reason', 'high', 'judge', now() FROM range(?) t(i)",
        [spans[0][0], spans[0][1], flags],
    )
    seconds, opened = timed(lambda: sync_review_items(store))
    rows.append(
        (
            f"open review items for {flags:,} flags",
            f"{seconds:.2f} s",
            f"{opened['flag'] / seconds:,.0f} items/s",
        )
    )
    append_scores(
        store,
        [
            ScoreRow(
                project="bench",
                trace_id=spans[i % 200][0],
                name="thumbs",
                kind="human",
                source="end_user",
                value=1.0,
            )
            for i in range(200_000)
        ],
    )
    samples = [timed(lambda: sync_review_items(store))[0] for _ in range(5)]
    rows.append(
        (
            "background sync, nothing new (200k scores)",
            f"{statistics.median(samples) * 1000:.0f} ms",
            "median of 5",
        )
    )
    for trace_id, span_id in spans[1:101]:
        store.query(
            "INSERT INTO flags (flag_id, project, trace_id, span_id, rule, cause_key, reason, "
            "severity, evaluator, created_at) VALUES (?, 'bench', ?, ?, 'rule', ?, 'r', 'high', "
            "'judge', now())",
            [f"g{span_id}", trace_id, span_id, f"k{span_id}"],
        )
    sync_review_items(store)
    items = [i for i in list_items(store, limit=1000) if i.source_id and i.source_id[0] == "g"]
    latencies = []
    for item in items:
        seconds, _ = timed(
            lambda item=item: act(
                store,
                item.item_id,
                "correct",
                actor="bench",
                expected_version=1,
                corrected_output="the right answer",
                comment="why",
                verdicts={"helpfulness": "pass"},
            )
        )
        latencies.append(seconds * 1000)
    latencies.sort()
    rows.append(
        (
            "review action: correct + 2 verdicts",
            f"{statistics.median(latencies):.1f} ms",
            f"p95 {latencies[int(len(latencies) * 0.95)]:.1f} ms, {len(latencies)} items",
        )
    )
    return rows


def _spans(store: Store, count: int) -> list[tuple[str, str]]:
    exporter = loopwise.TestingExporter()
    client = loopwise.Client()
    client.init("bench", exporter=exporter, batch=False, set_global=False)
    for i in range(count):
        with client.span("answer", kind="llm") as span:
            span.set_input(f"question {i}")
            span.set_output(f"answer {i}")
    client.shutdown()
    rows = exporter.rows("bench")
    store.append_spans(pa.Table.from_pylist(rows, schema=SPAN_ARROW_SCHEMA))
    return [(r["trace_id"], r["span_id"]) for r in rows]


def bench_calibration(store: Store, pairs: int) -> list[Row]:
    scores = []
    for i in range(pairs):
        trace, span = format(i + 10**6, "032x"), format(i + 10**6, "016x")
        scores.append(
            ScoreRow(
                project="cal",
                trace_id=trace,
                span_id=span,
                name="judge",
                kind="llm",
                source="judge",
                evaluator_version=str(i % 3),
                passed=i % 5 != 0,
            )
        )
        scores.append(
            ScoreRow(
                project="cal",
                trace_id=trace,
                span_id=span,
                name="judge",
                kind="human",
                source="reviewer",
                passed=i % 7 != 0,
            )
        )
    append_scores(store, scores)
    import sklearn.metrics  # noqa: F401  (its first import takes seconds; not calibration's)

    seconds, reports = timed(lambda: calibrate(store, project="cal"))
    return [(f"calibrate: {pairs:,} pairs, {len(reports)} versions", f"{seconds:.2f} s", "")]


def bench_prompt_fetch(folder: Path) -> list[Row]:
    config = CollectorConfig(db_path=folder / "prompts.duckdb", port=0)
    with CollectorServer(config, [FeedbackExtension(sync_interval_s=None)]) as server:
        with HttpBackend(server.url) as api:
            api.call(
                "POST",
                "/api/prompts/triage/versions",
                body={"template": "Classify {{ticket}}", "labels": ["production"], "actor": "b"},
            )
        client = loopwise.Client()
        client.init(
            "bench",
            endpoint=server.url,
            set_global=False,
            spool_dir=folder / "spool",
            prompt_cache_dir=folder / "prompt-cache",
        )
        client.prompt("triage")
        calls = 20_000
        cached_s, _ = timed(lambda: [client.prompt("triage") for _ in range(calls)])
        fetches = 300
        fetched_s, _ = timed(
            lambda: [client.prompt("triage", cache_ttl_s=0) for _ in range(fetches)]
        )
        client.shutdown()
    return [
        ("loopwise.prompt(), from memory", f"{cached_s / calls * 1e6:.1f} µs", f"{calls:,} calls"),
        (
            "loopwise.prompt(), fetched over HTTP",
            f"{fetched_s / fetches * 1000:.2f} ms",
            f"{fetches} calls",
        ),
    ]


def main() -> None:
    """Measure, print the table, and write it into bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--flags", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with Store(folder / "bench.duckdb") as store:
            rows = bench_datasets(store, args.examples, folder)
            rows += bench_reviews(store, args.flags)
            rows += bench_calibration(store, args.pairs)
        rows += bench_prompt_fetch(folder)
    table = Table(title="feedback loop")
    for column in ("case", "time", "rate / note"):
        table.add_column(column, justify="right" if column != "case" else "left")
    lines = ["| case | time | rate / note |", "|---|---:|---:|"]
    for case, value, note in rows:
        table.add_row(case, value, note)
        lines.append(f"| {case} | {value} | {note} |")
    Console().print(table)
    section = "\n".join(
        [
            "## feedback (bench/feedback.py)",
            "",
            f"{dt.date.today().isoformat()} · {machine()}",
            "",
            "One DuckDB file, in process; the prompt fetch goes to a collector on 127.0.0.1. "
            "Targets: a review action well under 50 ms, the idle background sync under 100 ms, "
            "dataset writes ≥ 10,000 examples/s, a cached prompt() in microseconds.",
            "",
            *lines,
            "",
        ]
    )
    write_section(Path(__file__).with_name("RESULTS.md"), "## feedback", section)


if __name__ == "__main__":
    main()
