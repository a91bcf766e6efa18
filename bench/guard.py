"""Inline checks and held outputs: the cost of ``check()`` per built-in evaluator, and the time
from a reviewer's action to ``wait()`` returning in the workflow.

    .venv/bin/python bench/guard.py [--calls 300] [--holds 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
from ingest import machine, write_section
from rich.console import Console
from rich.table import Table

import loopwise
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.evals import EvalsExtension
from loopwise.feedback import FeedbackExtension

TICKET = "Where is my order ORD-10001? It was due on Monday."
REPLY = '{"reply": "Your order ORD-10001 ships tomorrow.", "category": "shipping"}'
CONTEXT = {"retrieved": ["Shipping: orders ship within 2 days.", "ORD-10001: shipped"]}
CHECKED = (
    "valid_json",
    "invented_identifiers",
    "refusal",
    "pii_leakage",
    "language_mismatch",
    "length_bounds",
    "error_status",
)


def bench_checks(calls: int) -> list[tuple[str, str, str]]:
    """Median and p95 µs per ``check()`` call of one evaluator on a batch of one."""
    rows = []
    for name in (*CHECKED, "all seven together"):
        evaluators = list(CHECKED) if name.startswith("all") else [name]
        loopwise.check(REPLY, evaluators=evaluators, input=TICKET, context=CONTEXT)  # warm up
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            loopwise.check(REPLY, evaluators=evaluators, input=TICKET, context=CONTEXT)
            times.append((time.perf_counter() - started) * 1e6)
        times.sort()
        rows.append(
            (name, f"{statistics.median(times):,.0f}", f"{times[int(len(times) * 0.95)]:,.0f}")
        )
    return rows


def bench_release(holds: int, folder: Path) -> list[float]:
    """Milliseconds from a reviewer's approve answering to ``wait()`` returning."""
    config = CollectorConfig(db_path=folder / "guard.duckdb", port=0)
    extensions = [EvalsExtension(online=False), FeedbackExtension(sync_interval_s=None)]
    latencies = []
    with CollectorServer(config, extensions=extensions) as server:
        client = loopwise.Client()
        client.init("bench", endpoint=server.url, spool_dir=folder / "spool", set_global=False)
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for number in range(holds):
                ticket = loopwise.hold(output=REPLY, client=client, hold_id=f"bench-{number}")
                acted = threading.Event()
                stamp: dict[str, float] = {}

                def approve(
                    item_id: str | None = ticket.item_id,
                    stamp: dict[str, float] = stamp,
                    acted: threading.Event = acted,
                ) -> None:
                    time.sleep(0.3)  # the workflow is already waiting
                    http.post(
                        f"/api/reviews/{item_id}/actions",
                        json={"action": "approve", "actor": "bench", "expected_version": 1},
                    )
                    stamp["acted"] = time.perf_counter()
                    acted.set()

                thread = threading.Thread(target=approve)
                thread.start()
                decision = ticket.wait(timeout=30)
                returned = time.perf_counter()
                thread.join()
                assert decision.action == "approved", decision
                latencies.append(max(returned - stamp["acted"], 0.0) * 1000)
        client.shutdown()
    return latencies


def main() -> None:
    """Measure, print the tables, and write them into bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--holds", type=int, default=20)
    args = parser.parse_args()
    checks = bench_checks(args.calls)
    with tempfile.TemporaryDirectory() as tmp:
        release = sorted(bench_release(args.holds, Path(tmp)))
    table = Table(title="check() per call")
    for column in ("evaluator", "median µs", "p95 µs"):
        table.add_column(column, justify="right" if column != "evaluator" else "left")
    lines = ["| evaluator | median µs/call | p95 µs/call |", "|---|---:|---:|"]
    for row in checks:
        table.add_row(*row)
        lines.append("| " + " | ".join(row) + " |")
    Console().print(table)
    p50 = statistics.median(release)
    p95 = release[int(len(release) * 0.95) - 1] if len(release) > 1 else release[0]
    note = (
        f"Reviewer's approve → `wait()` returning, {len(release)} holds: median {p50:.0f} ms, "
        f"p95 {p95:.0f} ms, max {release[-1]:.0f} ms (the decision route polls the store every "
        "200 ms while a workflow long-polls)."
    )
    Console().print(note)
    section = "\n".join(
        [
            "## guard (bench/guard.py)",
            "",
            f"{dt.date.today().isoformat()} · {machine()}",
            "",
            "`loopwise.check()` on one JSON reply with its ticket and two retrieved documents, in "
            f"process, {args.calls} calls per row (evaluators created once and cached; the span "
            "recording is included). Target: microseconds to a millisecond per built-in.",
            "",
            *lines,
            "",
            note,
            "",
        ]
    )
    write_section(Path(__file__).with_name("RESULTS.md"), "## guard", section)


if __name__ == "__main__":
    main()
