"""SDK overhead per decorated call, with the collector away (nothing listens on the endpoint).

The app thread only records the span and queues it; export, retries and spooling happen on
background threads. Compares a bare function with the same function under ``@observe``,
and a nested ``span()``.

    python bench/sdk_overhead.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

import loopwise

sys.path.insert(0, str(Path(__file__).parent))
from ingest import machine, write_section


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _per_call_us(fn: object, calls: int, repeats: int = 5) -> tuple[float, float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for i in range(calls):
            fn(i)  # type: ignore[operator]
        samples.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(samples), max(samples)


def main() -> None:
    """Measure, print the table, and write it into bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    client = loopwise.Client()
    with tempfile.TemporaryDirectory() as spool:
        client.init(
            "bench",
            endpoint=f"http://127.0.0.1:{_closed_port()}",
            spool_dir=spool,
            set_global=False,
        )

        def bare(x: int) -> str:
            return f"answer {x}"

        observed = client.observe(kind="llm")(bare)

        def with_span(x: int) -> str:
            with client.span("retrieve", kind="retriever") as s:
                s.set_input(x)
                s.set_output(["doc"])
                s.set_usage(input_tokens=10, output_tokens=2, model="m")
            return "ok"

        rows = [
            ("bare function", *_per_call_us(bare, args.calls)),
            ("@observe, collector away", *_per_call_us(observed, args.calls)),
            ("span() with input/output/usage", *_per_call_us(with_span, args.calls)),
        ]
        started = time.perf_counter()
        client.shutdown()
        shutdown_s = time.perf_counter() - started
        spooled = len(list(Path(spool).rglob("*.pb")))

    table = Table(title=f"SDK overhead, {args.calls} calls x 5, collector away")
    for column in ("case", "median µs/call", "worst run µs/call"):
        table.add_column(column, justify="right")
    lines = ["| case | median µs/call | worst run µs/call |", "|---|---:|---:|"]
    for name, median, worst in rows:
        table.add_row(name, f"{median:.1f}", f"{worst:.1f}")
        lines.append(f"| {name} | {median:.1f} | {worst:.1f} |")
    Console().print(table)
    Console().print(
        f"shutdown with the collector away: {shutdown_s:.2f} s; spooled requests: {spooled}"
    )
    section = "\n".join(
        [
            "## sdk overhead (bench/sdk_overhead.py)",
            "",
            f"{dt.date.today().isoformat()} · {machine()}",
            "",
            "Per-call cost in the application thread with nothing listening on the endpoint "
            "(target: a few hundred µs at most).",
            "",
            *lines,
            "",
            f"Shutdown with the collector away: {shutdown_s:.2f} s; spooled requests: {spooled}.",
            "",
        ]
    )
    write_section(Path(__file__).with_name("RESULTS.md"), "## sdk overhead", section)


if __name__ == "__main__":
    main()
