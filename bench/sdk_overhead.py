"""SDK overhead per decorated call, beside a bare OpenTelemetry span, with the collector away
(nothing listens on the endpoint) and up (a real ``loopwise collect`` storing every span).

The app thread only records the span and queues it; export, retries and spooling happen on
background threads, which share the interpreter lock with it, so the background work a
pipeline does shows in the app's per-call cost. The baseline is what an application pays for
OpenTelemetry alone: the official SDK's tracer with a BatchSpanProcessor and the OTLP/HTTP
exporter, one span per call carrying the call's input and output as attributes. Target:
``@observe`` at most 1.5x that.

That baseline does less work than loopwise, not the same work faster: under this loop its
default queue (2048) overflows, and with the collector away each batch waits out the
exporter's retries and is dropped, so it keeps few of its spans (none while away) and never
encodes most of them, while loopwise (queue 32768) keeps what its queue holds and spools
every span it cannot deliver. So each state also times a like-for-like bare span: the same
tracer with loopwise's queue settings, the OTLP/HTTP exporter with the collector up, and
with it away an exporter writing each batch, encoded by the official OTLP encoder, to a file.
Every row reports how many spans its pipeline kept (delivered or written to disk).

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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from rich.console import Console
from rich.table import Table

import loopwise

sys.path.insert(0, str(Path(__file__).parent))
from ingest import machine, write_section

REPEATS = 5


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _per_call_us(fn: object, calls: int, repeats: int = REPEATS) -> tuple[float, float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for i in range(calls):
            fn(i)  # type: ignore[operator]
        samples.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(samples), max(samples)


class _Kept:
    """Counts the spans an exporter reports delivered or spooled (its export succeeded)."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.spans = 0
        self._export = exporter.export
        exporter.export = self._counted  # type: ignore[method-assign]

    def _counted(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self._export(spans)
        if result == SpanExportResult.SUCCESS:
            self.spans += len(spans)
        return result


class _FileExporter(SpanExporter):
    """Writes each batch, encoded by the official OTLP encoder, to a file of its own."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        body = encode_spans(spans).SerializeToString()
        (self._directory / f"{time.time_ns():020d}.pb").write_bytes(body)
        return SpanExportResult.SUCCESS


Row = tuple[str, float, float, str]


def _timed(
    name: str, fn: Callable[[int], object], kept: _Kept, flush: Callable[[], object], calls: int
) -> Row:
    """Time ``fn``, then let its pipeline finish and count what it kept."""
    median, worst = _per_call_us(fn, calls)
    in_time = kept.spans
    flush()
    made = calls * REPEATS
    after = kept.spans - in_time
    return name, median, worst, f"{kept.spans:,} of {made:,}" + (f" ({after:,})" if after else "")


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


def _bare_call(provider: TracerProvider) -> Callable[[int], str]:
    tracer = provider.get_tracer("bench")

    def call(x: int) -> str:
        with tracer.start_as_current_span("bare") as span:
            span.set_attribute("input.value", json.dumps({"x": x}))
            result = f"answer {x}"
            span.set_attribute("output.value", result)
            return result

    return call


def _bare(exporter: SpanExporter, name: str, calls: int, loopwise_queue: bool) -> Row:
    kept = _Kept(exporter)
    provider = TracerProvider()
    if loopwise_queue:
        processor = BatchSpanProcessor(exporter, max_queue_size=32768, schedule_delay_millis=1000)
    else:
        processor = BatchSpanProcessor(exporter)
    provider.add_span_processor(processor)
    try:
        return _timed(name, _bare_call(provider), kept, provider.force_flush, calls)
    finally:
        provider.shutdown()


def _otlp(endpoint: str) -> SpanExporter:
    return OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=2)


def _loopwise(
    endpoint: str, spool: Path, make: Callable[[loopwise.Client], Callable[[int], object]]
) -> tuple[loopwise.Client, Callable[[int], object], _Kept]:
    client = loopwise.Client()
    client.init("bench", endpoint=endpoint, spool_dir=spool, set_global=False)
    assert client.exporter is not None
    return client, make(client), _Kept(client.exporter)


def _observed(client: loopwise.Client) -> Callable[[int], str]:
    def bare(x: int) -> str:
        return f"answer {x}"

    return client.observe(kind="llm")(bare)  # type: ignore[no-any-return]


def _with_span(client: loopwise.Client) -> Callable[[int], str]:
    def call(x: int) -> str:
        with client.span("retrieve", kind="retriever") as s:
            s.set_input(x)
            s.set_output(["doc"])
            s.set_usage(input_tokens=10, output_tokens=2, model="m")
        return "ok"

    return call


def _measure(endpoint: str, label: str, calls: int, tmp: Path) -> list[Row]:
    """Each pipeline on its own, one after another: a pipeline's backlog is exported (or
    dropped) before the next one is timed."""
    rows = [_bare(_otlp(endpoint), f"bare OpenTelemetry span, collector {label}", calls, False)]
    like: SpanExporter
    if label == "away":
        like = _FileExporter(tmp / "bare-file")
        name = "bare OpenTelemetry span, loopwise's queue, every batch written to a file"
    else:
        like, name = _otlp(endpoint), "bare OpenTelemetry span, loopwise's queue"
    rows.append(_bare(like, f"{name}, collector {label}", calls, True))
    cases: list[tuple[str, Callable[[loopwise.Client], Callable[[int], object]]]] = [
        (f"@observe, collector {label}", _observed),
        (f"span() with input/output/usage, collector {label}", _with_span),
    ]
    for n, (name, make) in enumerate(cases):
        client, fn, kept = _loopwise(endpoint, tmp / f"spool-{n}", make)
        try:
            rows.append(_timed(name, fn, kept, client.flush, calls))
        finally:
            client.shutdown()
    return rows


def main() -> None:
    """Measure, print the table, and write it into bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()

    def bare(x: int) -> str:
        return f"answer {x}"

    load_before = _load()
    rows: list[Row] = [("bare function", *_per_call_us(bare, args.calls), "")]
    with tempfile.TemporaryDirectory() as away:
        rows += _measure(f"http://127.0.0.1:{_closed_port()}", "away", args.calls, Path(away))
        client = loopwise.Client()
        client.init(
            "bench",
            endpoint=f"http://127.0.0.1:{_closed_port()}",
            spool_dir=Path(away) / "spool-shutdown",
            set_global=False,
        )
        client.observe(kind="llm")(bare)(1)
        started = time.perf_counter()
        client.shutdown()
        shutdown_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp, _collector(Path(tmp)) as url:
        rows += _measure(url, "up", args.calls, Path(tmp))
    load_after = _load()

    def baseline(prefix: str, state: str) -> float | None:
        return next((r[1] for r in rows if r[0].startswith(prefix) and r[0].endswith(state)), None)

    def ratios(name: str, median: float) -> tuple[str, str]:
        if not name.startswith("@observe"):
            return "", ""
        state = name.rsplit(", ", 1)[-1]
        bare_span = baseline("bare OpenTelemetry span, collector", state)
        like = baseline("bare OpenTelemetry span, loopwise's queue", state)
        return (
            f"{median / bare_span:.2f}x" if bare_span else "",
            f"{median / like:.2f}x" if like else "",
        )

    columns = (
        "case",
        "median µs/call",
        "worst run µs/call",
        "spans kept (of them after timing)",
        "vs bare span",
        "vs like-for-like bare span",
    )
    table = Table(title=f"SDK overhead, {args.calls} calls x {REPEATS}")
    for column in columns:
        table.add_column(column, justify="right")
    lines = ["| " + " | ".join(columns) + " |", "|---|" + "---:|" * (len(columns) - 1)]
    for name, median, worst, kept in rows:
        cells = (name, f"{median:.1f}", f"{worst:.1f}", kept, *ratios(name, median))
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console = Console()
    console.print(table)
    console.print(f"shutdown with the collector away: {shutdown_s:.2f} s")
    console.print(f"load average {load_before:.1f} before, {load_after:.1f} after")
    section = "\n".join(
        [
            "## sdk overhead (bench/sdk_overhead.py)",
            "",
            f"{dt.date.today().isoformat()} · {machine()} · load average {load_before:.1f} "
            f"before and {load_after:.1f} after (other work shares the cores when above ~0.5)",
            "",
            "Per-call cost in the application thread, which shares the interpreter with the "
            "exporting threads (and, with the collector up, the cores with the collector "
            "storing what they deliver). The bare OpenTelemetry span is the official SDK with "
            "a BatchSpanProcessor and the OTLP/HTTP exporter, one span carrying the call's "
            "input and output. Its default queue (2048) overflows under this loop, and with "
            "the collector away each batch waits out the exporter's retries and is dropped, so "
            "it keeps few or none of its spans and encodes fewer still. The like-for-like bare "
            "span uses loopwise's queue settings (32768, exporting every second) and, with the "
            "collector away, writes every batch, encoded by the official OTLP encoder, to a "
            "file, as loopwise spools it. Spans kept: delivered or written to disk, of those "
            "made; in brackets, how many of them were exported after the timed runs ended. "
            "Target: `@observe` at most 1.5x the bare span.",
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
