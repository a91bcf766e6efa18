"""Ingest throughput: pre-encoded OTLP/protobuf requests posted to a real collector process.

Each request holds 512 LLM-sized spans (~2 KB of prompt and completion text each, GenAI and
OpenInference attributes). Spans/s counts spans acknowledged, and a 200 is sent only after
the rows are committed, so it is the end-to-end committed rate. The collector runs as its own
process (``loopwise collect``), the clients post from forked processes over keep-alive connections.

    python bench/ingest.py [--requests 120] [--concurrency 1,4,8]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import multiprocessing
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from rich.console import Console
from rich.table import Table

SPANS_PER_REQUEST = 512
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
    "warranty",
]


def _kv(key: str, value: str | int) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _text(rng: random.Random, chars: int) -> str:
    words: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)


def build_request(rng: random.Random, start_ns: int) -> bytes:
    """One OTLP request of SPANS_PER_REQUEST LLM spans with ~2 KB of text each."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        [_kv("service.name", "bench"), _kv("loopwise.project", "bench")]
    )
    scope = resource_spans.scope_spans.add()
    for i in range(SPANS_PER_REQUEST):
        prompt = _text(rng, 1200)
        completion = _text(rng, 800)
        span = Span(
            trace_id=rng.randbytes(16),
            span_id=rng.randbytes(8),
            name="chat shopgpt-mini",
            kind=Span.SPAN_KIND_CLIENT,
            start_time_unix_nano=start_ns + i * 1000,
            end_time_unix_nano=start_ns + i * 1000 + 350_000_000,
            status=Status(code=Status.STATUS_CODE_OK),
        )
        span.attributes.extend(
            [
                _kv("gen_ai.operation.name", "chat"),
                _kv("gen_ai.provider.name", "openai"),
                _kv("gen_ai.request.model", "shopgpt-mini"),
                _kv("gen_ai.usage.input_tokens", 300),
                _kv("gen_ai.usage.output_tokens", 200),
                _kv("gen_ai.conversation.id", f"session-{i % 50}"),
                _kv("openinference.span.kind", "LLM"),
                _kv("input.value", prompt),
                _kv("output.value", completion),
            ]
        )
        scope.spans.append(span)
    return request.SerializeToString()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("collector exited")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("collector did not start")


_BODIES: list[bytes] = []


def _post_share(args: tuple[int, int, int]) -> list[int]:
    """Post every ``step``-th body starting at ``first`` over one keep-alive connection;
    return the non-200 statuses. Runs in a client process (fork), so the load generator
    is not held back by one interpreter's lock."""
    port, first, step = args
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    failures: list[int] = []
    for body in _BODIES[first::step]:
        connection.request(
            "POST", "/v1/traces", body=body, headers={"Content-Type": "application/x-protobuf"}
        )
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            failures.append(response.status)
    connection.close()
    return failures


def run_case(bodies: list[bytes], concurrency: int) -> dict[str, float]:
    """Start a fresh collector, post every body from ``concurrency`` client processes."""
    _BODIES[:] = bodies
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        db = Path(tmp) / "bench.duckdb"
        process = subprocess.Popen(
            [sys.executable, "-m", "loopwise.cli", "collect", "--db", str(db), "--port", str(port)],
            stdout=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, process)
            with multiprocessing.get_context("fork").Pool(concurrency) as pool:
                started = time.perf_counter()
                shares = pool.map(_post_share, [(port, i, concurrency) for i in range(concurrency)])
                elapsed = time.perf_counter() - started
            failures = [status for share in shares for status in share]
            stored = httpx.post(
                url + "/api/sql", json={"sql": "select count(*) from spans"}
            ).json()["rows"][0][0]
            health = httpx.get(url + "/health").json()
        finally:
            process.terminate()
            process.wait(30)
        sent = len(bodies) * SPANS_PER_REQUEST
        return {
            "concurrency": concurrency,
            "spans": sent,
            "stored": stored,
            "failed_requests": len(failures),
            "seconds": elapsed,
            "spans_per_s": sent / elapsed,
            "mb_per_s": sum(map(len, bodies)) / elapsed / 1e6,
            "commits": health["commits"],
        }


def machine() -> str:
    """A one-line description of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    """Run the cases, print the table, and write it into bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=240, help="requests per case")
    parser.add_argument("--concurrency", default="1,4,8", help="comma-separated client counts")
    args = parser.parse_args()
    rng = random.Random(42)
    start_ns = time.time_ns()
    bodies = [build_request(rng, start_ns) for _ in range(args.requests)]
    average_span = sum(map(len, bodies)) / len(bodies) / SPANS_PER_REQUEST
    results = [run_case(bodies, int(c)) for c in args.concurrency.split(",")]

    shape = f"{args.requests} requests x {SPANS_PER_REQUEST} spans, ~{average_span:.0f} B/span"
    table = Table(title=f"ingest: {shape}")
    for column in ("clients", "spans", "stored", "failed", "seconds", "spans/s", "MB/s", "commits"):
        table.add_column(column, justify="right")
    lines = [
        "| clients | spans | stored | failed requests | seconds | spans/s | MB/s | commits |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        cells = [
            f"{r['concurrency']:.0f}",
            f"{r['spans']:.0f}",
            f"{r['stored']:.0f}",
            f"{r['failed_requests']:.0f}",
            f"{r['seconds']:.2f}",
            f"{r['spans_per_s']:,.0f}",
            f"{r['mb_per_s']:.1f}",
            f"{r['commits']:.0f}",
        ]
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    Console().print(table)
    section = "\n".join(
        [
            "## ingest (bench/ingest.py)",
            "",
            f"{dt.date.today().isoformat()} · {machine()}",
            "",
            f"{args.requests} pre-encoded OTLP/protobuf requests of {SPANS_PER_REQUEST} LLM spans "
            f"(~{average_span:.0f} bytes each) posted to `loopwise collect` in its own process; "
            "from client processes; a 200 means committed. Target: ≥ 20,000 spans/s.",
            "",
            *lines,
            "",
        ]
    )
    write_section(Path(__file__).with_name("RESULTS.md"), "## ingest", section)


def write_section(path: Path, heading: str, section: str) -> None:
    """Replace the section that starts with ``heading`` in RESULTS.md (or append it)."""
    text = path.read_text() if path.exists() else "# Benchmark results\n\n"
    start = text.find(heading)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(heading))
        rest = text[end + 1 :] if end != -1 else ""
        text = text[:start] + section.rstrip("\n") + "\n" + ("\n" + rest if rest else "")
    path.write_text(text)


if __name__ == "__main__":
    main()
