"""Several ``loopwise collect --store ducklake:...`` processes writing one lake at once.

The official OpenTelemetry SDK makes the spans and its OTLP/HTTP exporter sends them. The
catalog is a real PostgreSQL (see conftest.py); the collectors are real processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from loopwise.collector.store.backend import LakeBackend
from loopwise.collector.store.lake_store import LakeStore

from .conftest import LakeCollector

pytestmark = pytest.mark.postgres

SPANS_PER_BATCH = 100


def official_sdk_batches(total: int, project: str = "lake") -> list[list[ReadableSpan]]:
    """``total`` spans made by the OpenTelemetry SDK (traces of five spans), in batches."""
    captured = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "lake-ingest", "loopwise.project": project})
    )
    provider.add_span_processor(SimpleSpanProcessor(captured))
    tracer = provider.get_tracer("lake-test")
    for index in range(total // 5):
        with tracer.start_as_current_span("request") as root:
            root.set_attribute("input.value", f"question {index} " + "x" * 200)
            for step in range(4):
                with tracer.start_as_current_span(f"step-{step}") as span:
                    span.set_attribute("gen_ai.request.model", "gpt-4.1-mini")
                    span.set_attribute("gen_ai.usage.input_tokens", 100 + step)
    spans = list(captured.get_finished_spans())
    provider.shutdown()
    return [spans[i : i + SPANS_PER_BATCH] for i in range(0, len(spans), SPANS_PER_BATCH)]


def keys(batches: list[list[ReadableSpan]]) -> set[tuple[str, str]]:
    """(trace_id, span_id) as the collector stores them, for every span of ``batches``."""
    out = set()
    for batch in batches:
        for span in batch:
            context = span.get_span_context()
            out.add((format(context.trace_id, "032x"), format(context.span_id, "016x")))
    return out


def send_all(url: str, batches: list[list[ReadableSpan]]) -> None:
    """Export each batch to ``url`` until it is acknowledged (a 200: committed)."""
    exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", timeout=30)
    try:
        for batch in batches:
            for _ in range(20):
                if exporter.export(batch) is SpanExportResult.SUCCESS:
                    break
            else:
                raise AssertionError(f"{url} never acknowledged a batch")
    finally:
        exporter.shutdown()


def in_parallel(jobs: list[Callable[[], None]]) -> None:
    """Run ``jobs`` on threads at once; re-raise the first failure."""
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def stored_keys(lake: LakeBackend) -> list[tuple[str, str]]:
    """Every (trace_id, span_id) row a reader of the ``spans`` view sees."""
    with LakeStore(lake) as store:
        cur = store.cursor()
        return [(t, s) for t, s in cur.execute("SELECT trace_id, span_id FROM spans").fetchall()]


def test_three_collectors_ingest_at_once_and_resent_spans_are_seen_once(
    lake: LakeBackend, start_collectors: Callable[[int], list[LakeCollector]]
) -> None:
    collectors = start_collectors(3)  # launched together: the schema is created concurrently
    batches = official_sdk_batches(3000)
    shares = [batches[i::3] for i in range(3)]

    in_parallel(
        [
            lambda c=collector, share=share: send_all(c.url, share)  # type: ignore[misc]
            for collector, share in zip(collectors, shares, strict=True)
        ]
    )
    # Every batch again, each to a different collector than the first time, and the first
    # share to two collectors at the same moment (both may commit before seeing the other).
    in_parallel(
        [
            lambda: send_all(collectors[1].url, shares[0]),
            lambda: send_all(collectors[2].url, shares[0]),
            lambda: send_all(collectors[0].url, shares[1]),
            lambda: send_all(collectors[0].url, shares[2]),
        ]
    )

    seen = stored_keys(lake)
    assert len(seen) == len(set(seen)) == 3000
    assert set(seen) == keys(batches)
    assert all(int(c.health()["commits"]) > 0 for c in collectors)  # type: ignore[call-overload]

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "loopwise",
            "sql",
            "--store",
            lake.spec,
            "--data-path",
            str(lake.data_path),
            "--format",
            "json",
            "select count(*) as n, count(distinct span_id) as d, "
            "count(*) filter (where model = 'gpt-4.1-mini') as llm from spans",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == [{"n": 3000, "d": 3000, "llm": 2400}]


def test_a_collector_killed_mid_ingest_restarts_without_loss(
    lake: LakeBackend, start_collectors: Callable[[int], list[LakeCollector]], tmp_path: Path
) -> None:
    (victim, steady) = start_collectors(2)
    batches = official_sdk_batches(2000)
    exporter = OTLPSpanExporter(endpoint=f"{victim.url}/v1/traces", timeout=5)
    acked: list[int] = []
    for index, batch in enumerate(batches[:10]):
        if exporter.export(batch) is SpanExportResult.SUCCESS:
            acked.append(index)
    victim.kill9()
    unacked = [i for i in range(len(batches)) if i not in acked]
    # While it is down the other collector takes part of the rest; then it restarts.
    send_all(steady.url, [batches[i] for i in unacked[:5]])
    victim.launch()
    victim.wait_ready()
    send_all(victim.url, [batches[i] for i in unacked[5:]])
    exporter.shutdown()

    seen = stored_keys(lake)
    assert len(seen) == len(set(seen)) == 2000
    assert set(seen) == keys(batches)


def test_a_reader_sees_one_snapshot_while_collectors_write(
    lake: LakeBackend, start_collectors: Callable[[int], list[LakeCollector]]
) -> None:
    (collector,) = start_collectors(1)
    batches = official_sdk_batches(1000)
    send_all(collector.url, batches[:5])
    with LakeStore(lake) as store:
        reader = store.cursor()
        reader.execute("BEGIN TRANSACTION")
        before = reader.execute("SELECT count(*), sum(input_tokens) FROM spans").fetchone()
        send_all(collector.url, batches[5:])
        during = reader.execute("SELECT count(*), sum(input_tokens) FROM spans").fetchone()
        reader.execute("COMMIT")
        after = reader.execute("SELECT count(*) FROM spans").fetchone()
    assert before is not None and before == during
    assert before[0] == 500
    assert after == (1000,)
