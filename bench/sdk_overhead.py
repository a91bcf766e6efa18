"""SDK overhead per decorated call, beside a bare OpenTelemetry span, with the collector away
(nothing listens on the endpoint) and up (a real ``loopwise collect`` storing every span).

The app thread only records the span and queues it; export, retries and spooling happen on
background threads. The baseline is what an application pays for OpenTelemetry alone: the
official SDK's tracer with a BatchSpanProcessor and the OTLP/HTTP exporter, one span per call
carrying the call's input and output as attributes. Target: ``@observe`` at most 1.5x that.

    python bench/sdk_overhead.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
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


@contextmanager
def _collector(tmp: Path) -> Iterator[str]:
    """A real collector on a free port, storing into a DuckDB file in ``tmp``."""
    port = _closed_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "loopwise.cli", "collect", "--db", str(tmp / "b.duckdb")]
    process = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the collector did not start")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _bare_otel(endpoint: str) -> tuple[Callable[[int], str], TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=2))
    )
    tracer = provider.get_tracer("bench")

    def call(x: int) -> str:
        with tracer.start_as_current_span("bare") as span:
            span.set_attribute("input.value", json.dumps({"x": x}))
            result = f"answer {x}"
            span.set_attribute("output.value", result)
            return result

    return call, provider


def _observed(endpoint: str, spool: str) -> tuple[Callable[[int], str], loopwise.Client]:
    client = loopwise.Client()
    client.init("bench", endpoint=endpoint, spool_dir=spool, set_global=False)

    def bare(x: int) -> str:
        return f"answer {x}"

    return client.observe(kind="llm")(bare), client


def _measure(endpoint: str, label: str, calls: int, spool: str) -> list[tuple[str, float, float]]:
    otel, provider = _bare_otel(endpoint)
    observed, client = _observed(endpoint, spool)

    def with_span(x: int) -> str:
        with client.span("retrieve", kind="retriever") as s:
            s.set_input(x)
            s.set_output(["doc"])
            s.set_usage(input_tokens=10, output_tokens=2, model="m")
        return "ok"

    rows = [
        (f"bare OpenTelemetry span, collector {label}", *_per_call_us(otel, calls)),
        (f"@observe, collector {label}", *_per_call_us(observed, calls)),
        (f"span() with input/output/usage, collector {label}", *_per_call_us(with_span, calls)),
    ]
    provider.shutdown()
    client.shutdown()
    return rows


def main() -> None:
    """Measure, print the table, and write it into bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()

    def bare(x: int) -> str:
        return f"answer {x}"

    rows = [("bare function", *_per_call_us(bare, args.calls))]
    with tempfile.TemporaryDirectory() as spool:
        rows += _measure(f"http://127.0.0.1:{_closed_port()}", "away", args.calls, spool)
        client = loopwise.Client()
        client.init(
            "bench",
            endpoint=f"http://127.0.0.1:{_closed_port()}",
            spool_dir=spool,
            set_global=False,
        )
        client.observe(kind="llm")(bare)(1)
        started = time.perf_counter()
        client.shutdown()
        shutdown_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp, _collector(Path(tmp)) as url:
        rows += _measure(url, "up", args.calls, str(Path(tmp) / "spool"))
    baseline = {
        row[0].rsplit(", ", 1)[-1]: row[1] for row in rows if row[0].startswith("bare Open")
    }

    def ratio(name: str, median: float) -> str:
        if not name.startswith("@observe"):
            return ""
        return f"{median / baseline[name.rsplit(', ', 1)[-1]]:.2f}x"

    table = Table(title=f"SDK overhead, {args.calls} calls x 5")
    for column in ("case", "median µs/call", "worst run µs/call", "vs bare OpenTelemetry"):
        table.add_column(column, justify="right")
    lines = [
        "| case | median µs/call | worst run µs/call | vs bare OpenTelemetry |",
        "|---|---:|---:|---:|",
    ]
    for name, median, worst in rows:
        table.add_row(name, f"{median:.1f}", f"{worst:.1f}", ratio(name, median))
        lines.append(f"| {name} | {median:.1f} | {worst:.1f} | {ratio(name, median)} |")
    Console().print(table)
    Console().print(f"shutdown with the collector away: {shutdown_s:.2f} s")
    section = "\n".join(
        [
            "## sdk overhead (bench/sdk_overhead.py)",
            "",
            f"{dt.date.today().isoformat()} · {machine()} · load average {_load():.1f}",
            "",
            "Per-call cost in the application thread; the bare OpenTelemetry span is the official "
            "SDK with a BatchSpanProcessor and the OTLP/HTTP exporter, one span carrying the "
            "call's input and output. Target: `@observe` at most 1.5x the bare span.",
            "",
            *lines,
            "",
            f"Shutdown with the collector away: {shutdown_s:.2f} s (pending spans are spooled).",
            "",
        ]
    )
    write_section(Path(__file__).with_name("RESULTS.md"), "## sdk overhead", section)


def _load() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


if __name__ == "__main__":
    main()
