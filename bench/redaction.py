"""Redaction cost: the ingest rate with redaction off and on (the default), on clean LLM text
and on text where every span leaks an email, a phone number, a card number and an API key.

Two measurements: ``redact_table`` alone on normalized 512-span batches (in-process, the CPU
added per batch), and the end-to-end committed rate of ``loopwise collect`` in its own process
(``--redact off`` against the default), posted from client processes as in bench/ingest.py.

    python bench/redaction.py [--requests 120] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from rich.console import Console
from rich.table import Table

from loopwise.collector.redact import RedactionConfig, redact_table
from loopwise.collector.semconv import normalize_request

sys.path.insert(0, str(Path(__file__).parent))
import ingest
from ingest import SPANS_PER_REQUEST, build_request, machine, write_section

LEAK = (
    " Reach me at maria.lopez@example.com or +1 415 555 0132; card 4111 1111 1111 1111;"
    " key sk-proj-abcdefghijklmnopqrstuvwx1234."
)


def leaky(body: bytes) -> bytes:
    """The same request with the leak appended to every span's input.value."""
    request = ExportTraceServiceRequest.FromString(body)
    for resource_spans in request.resource_spans:
        for scope in resource_spans.scope_spans:
            for span in scope.spans:
                for kv in span.attributes:
                    if kv.key == "input.value":
                        kv.value.string_value += LEAK
    return request.SerializeToString()


def in_process(bodies: list[bytes], rounds: int = 5) -> dict[str, float]:
    """Median spans/s of normalize alone, and of redact_table on the normalized batches."""
    tables = [normalize_request(ExportTraceServiceRequest.FromString(b)).table for b in bodies]
    config = RedactionConfig()
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        out = [redact_table(t, config) for t in tables]
        rates.append(sum(t.num_rows for t in out) / (time.perf_counter() - started))
    normalize_rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        for body in bodies:
            normalize_request(ExportTraceServiceRequest.FromString(body))
        normalize_rates.append(len(bodies) * SPANS_PER_REQUEST / (time.perf_counter() - started))
    return {"redact": statistics.median(rates), "normalize": statistics.median(normalize_rates)}


def end_to_end(bodies: list[bytes], concurrency: int, redact: str | None) -> dict[str, float]:
    """A fresh ``loopwise collect`` (``--redact`` given or not); every body posted."""
    ingest._BODIES[:] = bodies
    with tempfile.TemporaryDirectory() as tmp:
        port = ingest._free_port()
        command = [
            sys.executable,
            "-m",
            "loopwise.cli",
            "collect",
            "--db",
            str(Path(tmp) / "bench.duckdb"),
            "--port",
            str(port),
        ]
        if redact is not None:
            command += ["--redact", redact]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            ingest._wait_healthy(url, process)
            with multiprocessing.get_context("fork").Pool(concurrency) as pool:
                started = time.perf_counter()
                shares = pool.map(
                    ingest._post_share, [(port, i, concurrency) for i in range(concurrency)]
                )
                elapsed = time.perf_counter() - started
            sql = "select count(*), count(*) filter (where input like '%@example.com%') from spans"
            stored, leaked = httpx.post(url + "/api/sql", json={"sql": sql}).json()["rows"][0]
        finally:
            process.terminate()
            process.wait(30)
    return {
        "spans_per_s": len(bodies) * SPANS_PER_REQUEST / elapsed,
        "stored": stored,
        "leaked": leaked,
        "failed": sum(len(s) for s in shares),
    }


def main() -> None:
    """Run both measurements, print the tables and write them into bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=120, help="requests per case")
    parser.add_argument("--concurrency", type=int, default=4, help="client processes")
    args = parser.parse_args()
    rng = random.Random(42)
    start_ns = time.time_ns()
    clean = [build_request(rng, start_ns) for _ in range(args.requests)]
    cases = {"clean text": clean, "every span leaks 4 items": [leaky(b) for b in clean]}

    alone = Table(title="redact_table alone (in-process, 512-span batches)")
    for column in ("text", "normalize spans/s", "redact spans/s", "redact share of CPU"):
        alone.add_column(column, justify="right")
    lines_alone = [
        "| text | normalize spans/s | redact spans/s | redaction's share of normalize+redact |",
        "|---|---:|---:|---:|",
    ]
    for name, bodies in cases.items():
        r = in_process(bodies[:16])
        share = (1 / r["redact"]) / (1 / r["redact"] + 1 / r["normalize"])
        cells = [name, f"{r['normalize']:,.0f}", f"{r['redact']:,.0f}", f"{share:.0%}"]
        alone.add_row(*cells)
        lines_alone.append("| " + " | ".join(cells) + " |")

    e2e = Table(title=f"loopwise collect, {args.concurrency} clients, {args.requests} requests")
    for column in ("text", "redaction", "spans/s", "stored", "with an email", "failed"):
        e2e.add_column(column, justify="right")
    lines_e2e = [
        "| text | redaction | spans/s | stored | stored with an email | failed requests |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, bodies in cases.items():
        for label, flag in (("off", "off"), ("on (default)", None)):
            r = end_to_end(bodies, args.concurrency, flag)
            cells = [
                name,
                label,
                f"{r['spans_per_s']:,.0f}",
                f"{r['stored']:.0f}",
                f"{r['leaked']:.0f}",
                f"{r['failed']:.0f}",
            ]
            e2e.add_row(*cells)
            lines_e2e.append("| " + " | ".join(cells) + " |")
    console = Console()
    console.print(alone)
    console.print(e2e)
    section = "\n".join(
        [
            "## redaction (bench/redaction.py)",
            "",
            f"{dt.date.today().isoformat()} · {machine()}",
            "",
            f"The ingest benchmark's spans (~2 KB of text each); the leaky case appends an email, "
            f"a phone number, a card number and an API key to every span's input. `redact_table` "
            f"alone runs on 16 normalized batches of {SPANS_PER_REQUEST} spans (median of 5); "
            f"end to end is `loopwise collect` in its own process with `--redact off` or the "
            f"default (every built-in kind), {args.requests} requests from {args.concurrency} "
            "client processes, a 200 meaning committed.",
            "",
            *lines_alone,
            "",
            *lines_e2e,
            "",
        ]
    )
    write_section(Path(__file__).with_name("RESULTS.md"), "## redaction", section)


if __name__ == "__main__":
    main()
