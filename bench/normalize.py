"""Normalizer cost per convention: ``normalize_request`` on 512-span OTLP requests built from
the payloads captured from real clients (tests/golden/*/captured_*.json) and from the ingest
benchmark's span shape. In-process, no HTTP and no database: the CPU the collector spends
turning one span into a row, which it pays under the GIL next to everything else.

    python bench/normalize.py [--requests 40]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from rich.console import Console
from rich.table import Table

from loopwise.collector.semconv import normalize_request

sys.path.insert(0, str(Path(__file__).parent))
from ingest import SPANS_PER_REQUEST, build_request, machine, write_section

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "golden"


def _value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        out = AnyValue()
        out.array_value.values.extend(_value(item) for item in value)
        return out
    return AnyValue(string_value=str(value))


def captured_request(path: Path, rng: random.Random) -> bytes:
    """SPANS_PER_REQUEST copies of one captured span (fresh ids), as protobuf bytes."""
    attributes = json.loads(path.read_text())["attributes"]
    pairs = [KeyValue(key=key, value=_value(value)) for key, value in attributes.items()]
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    start = time.time_ns()
    for i in range(SPANS_PER_REQUEST):
        span = Span(
            trace_id=rng.randbytes(16),
            span_id=rng.randbytes(8),
            name="captured",
            start_time_unix_nano=start + i,
            end_time_unix_nano=start + i + 1_000_000,
        )
        span.attributes.extend(pairs)
        scope.spans.append(span)
    return request.SerializeToString()


def spans_per_second(body: bytes, requests: int) -> tuple[float, float]:
    """Median and best normalize rate over ``requests`` decodes of ``body``."""
    rates = []
    for _ in range(requests):
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        started = time.perf_counter()
        normalize_request(request)
        rates.append(SPANS_PER_REQUEST / (time.perf_counter() - started))
    return statistics.median(rates), max(rates)


def main() -> None:
    """Measure each case, print the table, and write it into bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40, help="requests per case")
    args = parser.parse_args()
    rng = random.Random(7)
    cases = [("ingest benchmark span (GenAI + OpenInference keys)", build_request(rng, 1))]
    for path in sorted(GOLDEN.glob("*/captured_*.json")):
        cases.append((f"{path.parent.name}/{path.stem}", captured_request(path, rng)))
    normalize_request(ExportTraceServiceRequest())  # the first Arrow conversion imports pandas

    table = Table(title=f"normalize_request, {SPANS_PER_REQUEST} spans per request")
    for column in ("case", "bytes/span", "median spans/s", "best spans/s"):
        table.add_column(column, justify="left" if column == "case" else "right")
    lines = ["| case | bytes/span | median spans/s | best spans/s |", "|---|---:|---:|---:|"]
    for name, body in cases:
        median, best = spans_per_second(body, args.requests)
        cells = [name, f"{len(body) / SPANS_PER_REQUEST:.0f}", f"{median:,.0f}", f"{best:,.0f}"]
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    Console().print(table)
    section = "\n".join(
        [
            "## normalize (bench/normalize.py)",
            "",
            f"{dt.date.today().isoformat()} · {machine()}",
            "",
            "`normalize_request` alone (no HTTP, no database) on requests of "
            f"{SPANS_PER_REQUEST} copies of one span: the ingest benchmark's span and the "
            "payloads captured from real clients by tests/conformance.",
            "",
            *lines,
            "",
        ]
    )
    write_section(Path(__file__).with_name("RESULTS.md"), "## normalize", section)


if __name__ == "__main__":
    main()
