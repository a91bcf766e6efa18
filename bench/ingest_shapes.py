"""Ingest throughput per span shape, with the default online evaluators on and off.

Three shapes of 512-span requests, each encoded once before timing:

- ``genai-json``: OTel GenAI spans whose ``gen_ai.input.messages``/``gen_ai.output.messages``
  are JSON strings (~2.5 KB a span), encoded with the official SDK's OTLP encoder;
- ``openinference``: OpenInference spans with flattened ``llm.input_messages.N.message.*``
  attributes, same encoder;
- ``bench``: bench/ingest.py's shape (``input.value``/``output.value`` text).

For each shape and scoring mode a fresh ``loopwise collect`` runs on 127.0.0.1 (scoring off
means an empty ``LOOPWISE_EVALS`` config); 4 client processes post over keep-alive
connections; the clock stops when every request was answered and ``count(*)`` over
``spans`` (via /api/sql) equals the spans sent.

    python bench/ingest_shapes.py [--requests 160] [--clients 4] [--shapes genai-json,...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
import ingest

SPANS_PER_REQUEST = ingest.SPANS_PER_REQUEST
RESOURCE = Resource.create({"service.name": "bench", "loopwise.project": "bench"})
Attrs = dict[str, str | int]
MAX_ATTEMPTS = 20


def _genai_json(rng: random.Random, i: int) -> Attrs:
    messages_in = [
        {"role": "system", "parts": [{"type": "text", "content": ingest._text(rng, 200)}]},
        {"role": "user", "parts": [{"type": "text", "content": ingest._text(rng, 1000)}]},
    ]
    messages_out = [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": ingest._text(rng, 800)}],
            "finish_reason": "stop",
        }
    ]
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "shopgpt-mini",
        "gen_ai.response.model": "shopgpt-mini",
        "gen_ai.usage.input_tokens": 300,
        "gen_ai.usage.output_tokens": 200,
        "gen_ai.conversation.id": f"session-{i % 50}",
        "gen_ai.input.messages": json.dumps(messages_in),
        "gen_ai.output.messages": json.dumps(messages_out),
    }


def _openinference(rng: random.Random, i: int) -> Attrs:
    return {
        "openinference.span.kind": "LLM",
        "llm.model_name": "shopgpt-mini",
        "llm.provider": "openai",
        "llm.token_count.prompt": 300,
        "llm.token_count.completion": 200,
        "session.id": f"session-{i % 50}",
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": ingest._text(rng, 200),
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.content": ingest._text(rng, 1000),
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": ingest._text(rng, 800),
    }


def _sdk_request(
    rng: random.Random, start_ns: int, attrs: Callable[[random.Random, int], Attrs]
) -> bytes:
    spans = []
    for i in range(SPANS_PER_REQUEST):
        context = SpanContext(
            trace_id=rng.getrandbits(128) or 1,
            span_id=rng.getrandbits(64) or 1,
            is_remote=False,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )
        spans.append(
            ReadableSpan(
                name="chat shopgpt-mini",
                context=context,
                kind=SpanKind.CLIENT,
                resource=RESOURCE,
                attributes=attrs(rng, i),
                start_time=start_ns + i * 1000,
                end_time=start_ns + i * 1000 + 350_000_000,
                status=Status(StatusCode.OK),
            )
        )
    return bytes(encode_spans(spans).SerializeToString())


SHAPES: dict[str, Callable[[random.Random, int], bytes]] = {
    "genai-json": lambda rng, start: _sdk_request(rng, start, _genai_json),
    "openinference": lambda rng, start: _sdk_request(rng, start, _openinference),
    "bench": ingest.build_request,
}


def _post_share(args: tuple[int, int, int]) -> tuple[list[int], int]:
    """Post every ``step``-th body from ``first`` over one keep-alive connection, resending a
    body refused with 503 after its Retry-After (as the OTLP exporter does); return the
    statuses of the bodies finally refused and how many times a body was resent."""
    port, first, step = args
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    failures: list[int] = []
    retries = 0
    for body in ingest._BODIES[first::step]:
        for _attempt in range(MAX_ATTEMPTS):
            connection.request(
                "POST", "/v1/traces", body=body, headers={"Content-Type": "application/x-protobuf"}
            )
            response = connection.getresponse()
            response.read()
            if response.status != 503:
                break
            retries += 1
            time.sleep(min(float(response.getheader("Retry-After") or 1), 1.0))
        if response.status != 200:
            failures.append(response.status)
    connection.close()
    return failures, retries


def _count(url: str) -> int:
    body = httpx.post(url + "/api/sql", json={"sql": "select count(*) from spans"}, timeout=60)
    return int(body.json()["rows"][0][0])


def post_and_count(
    bodies: list[bytes], port: int, clients: int, count: Callable[[], int]
) -> dict[str, float]:
    """Post every body to 127.0.0.1:``port`` from ``clients`` processes; stop the clock when
    ``count()`` reaches the spans of every request answered 200 (or after 600 s)."""
    ingest._BODIES[:] = bodies
    sent = len(bodies) * SPANS_PER_REQUEST
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        started = time.perf_counter()
        shares = pool.map(_post_share, [(port, i, clients) for i in range(clients)])
        failed = sum(len(share[0]) for share in shares)
        # Every span of an answered-200 request must be counted; a refused one is not.
        accepted = sent - failed * SPANS_PER_REQUEST
        stored = count()
        while stored < accepted and time.perf_counter() - started < 600:
            time.sleep(0.2)
            stored = count()
        elapsed = time.perf_counter() - started
    return {
        "spans": sent,
        "stored": stored,
        "failed": failed,
        "retries": sum(share[1] for share in shares),
        "seconds": elapsed,
        "spans_per_s": stored / elapsed,
    }


def run_case(bodies: list[bytes], clients: int, scoring: bool) -> dict[str, float]:
    """A fresh collector; post every body from ``clients`` processes; wait for the rows."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        if scoring:
            env.pop("LOOPWISE_EVALS", None)
        else:
            empty = Path(tmp) / "no-evals.toml"
            empty.write_text("")
            env["LOOPWISE_EVALS"] = str(empty)
        port = ingest._free_port()
        db = Path(tmp) / "bench.duckdb"
        command = [sys.executable, "-m", "loopwise.cli", "collect", "--db", str(db)]
        process = subprocess.Popen(
            [*command, "--port", str(port)], stdout=subprocess.DEVNULL, env=env
        )
        url = f"http://127.0.0.1:{port}"
        try:
            ingest._wait_healthy(url, process)
            return post_and_count(bodies, port, clients, lambda: _count(url))
        finally:
            process.terminate()
            process.wait(30)


def main() -> None:
    """Run every shape with scoring on and off; print the table and write RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=160, help="requests per case")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--note", default="", help="a line written above the table")
    parser.add_argument("--label", default="", help="added to the section heading")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = []
    for shape in args.shapes.split(","):
        rng = random.Random(42)
        start_ns = time.time_ns()
        bodies = [SHAPES[shape](rng, start_ns) for _ in range(args.requests)]
        size = sum(map(len, bodies)) / len(bodies) / SPANS_PER_REQUEST
        for scoring in (True, False):
            result = run_case(bodies, args.clients, scoring)
            rows.append((shape, size, scoring, result))
    load_after = os.getloadavg()[0]

    table = Table(title=f"ingest by shape: {args.requests} x {SPANS_PER_REQUEST} spans")
    header = [
        "shape",
        "B/span",
        "scoring",
        "spans",
        "stored",
        "failed",
        "503 resent",
        "seconds",
        "spans/s",
    ]
    for column in header:
        table.add_column(column, justify="right")
    lines = ["| " + " | ".join(header) + " |", "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for shape, size, scoring, r in rows:
        cells = [
            shape,
            f"{size:.0f}",
            "on" if scoring else "off",
            f"{r['spans']:.0f}",
            f"{r['stored']:.0f}",
            f"{r['failed']:.0f}",
            f"{r['retries']:.0f}",
            f"{r['seconds']:.2f}",
            f"{r['spans_per_s']:,.0f}",
        ]
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    Console().print(table)
    if args.no_write:
        return
    heading = "## ingest by shape (bench/ingest_shapes.py)" + (
        f", {args.label}" if args.label else ""
    )
    section = "\n".join(
        [
            heading,
            "",
            f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · {ingest.machine()} · "
            f"load average {load_before:.1f} before, {load_after:.1f} after",
            "",
            f"{args.requests} pre-encoded OTLP/protobuf requests of {SPANS_PER_REQUEST} spans "
            f"per case from {args.clients} client processes to a fresh `loopwise collect`; "
            "a request refused with 503 is resent after its Retry-After, as the OTLP exporter "
            "does; the clock stops when every span is counted in `spans`. Scoring on: the default "
            "online evaluators; off: an empty `LOOPWISE_EVALS`. Target: ≥ 20,000 spans/s.",
            *(["", args.note] if args.note else []),
            "",
            *lines,
            "",
        ]
    )
    ingest.write_section(Path(__file__).with_name("RESULTS.md"), heading, section)


if __name__ == "__main__":
    main()
