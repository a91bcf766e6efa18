"""kill -9 of the collector during ingest: nothing acknowledged is lost, nothing duplicated.

The official OpenTelemetry SDK makes the spans and its OTLP/HTTP exporter sends them, one
export per batch, to ``loopwise collect`` in its own process. While the sender runs, the
collector is SIGKILLed three times and started again on the same file; the sender re-sends
every batch whose export failed (what the loopwise SDK's spool does), including batches the
collector had committed but could not acknowledge. Then the file is read directly.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

# LOOPWISE_FAULT_SPANS=100000 reproduces the figure in docs/reliability.md.
TOTAL_SPANS = int(os.environ.get("LOOPWISE_FAULT_SPANS", "30000"))
SPANS_PER_BATCH = 500
KILLS = 3


def official_sdk_batches(total: int, per_batch: int) -> list[list[ReadableSpan]]:
    """``total`` spans made by the OpenTelemetry SDK (traces of five spans), in batches."""
    captured = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "fault-ingest", "loopwise.project": "faults"})
    )
    provider.add_span_processor(SimpleSpanProcessor(captured))
    tracer = provider.get_tracer("fault-injection")
    for index in range(total // 5):
        with tracer.start_as_current_span("request") as root:
            root.set_attribute("input.value", f"question {index} " + "x" * 200)
            for step in range(4):
                with tracer.start_as_current_span(f"step-{step}") as span:
                    span.set_attribute("gen_ai.request.model", "gpt-4.1-mini")
                    span.set_attribute("gen_ai.usage.input_tokens", 100 + step)
    spans = list(captured.get_finished_spans())
    provider.shutdown()
    return [spans[i : i + per_batch] for i in range(0, len(spans), per_batch)]


def key(span: ReadableSpan) -> tuple[str, str]:
    context = span.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


class InterruptedAttempts(logging.Handler):
    """Counts export attempts the official exporter saw cut (it retries some by itself)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


class Sender(threading.Thread):
    """Exports every batch with the official exporter until each one is acknowledged."""

    def __init__(self, url: str, batches: list[list[ReadableSpan]]) -> None:
        super().__init__(daemon=True, name="fault-sender")
        self.exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", timeout=5)
        self.batches = batches
        self.pending = deque(range(len(batches)))
        self.acked: list[int] = []
        self.failed_exports = 0

    def run(self) -> None:
        while self.pending:
            index = self.pending.popleft()
            if self.exporter.export(self.batches[index]) == SpanExportResult.SUCCESS:
                self.acked.append(index)
            else:
                self.failed_exports += 1
                self.pending.append(index)
                time.sleep(0.2)


@pytest.mark.slow
def test_kill_9_during_ingest_loses_and_duplicates_nothing(collector_process, until) -> None:
    batches = official_sdk_batches(TOTAL_SPANS, SPANS_PER_BATCH)
    sent = {key(span) for batch in batches for span in batch}
    assert len(sent) == TOTAL_SPANS
    collector = collector_process()
    collector.start()
    sender = Sender(collector.url, batches)
    interrupted = InterruptedAttempts()
    exporter_logger = logging.getLogger("opentelemetry.exporter.otlp")
    exporter_logger.addHandler(interrupted)
    sender.start()

    acked_before_kill: list[int] = []
    for kill in range(1, KILLS + 1):
        # Kill while the sender is busy: after a share of the batches, mid-stream.
        assert until(lambda k=kill: len(sender.acked) >= k * len(batches) // (KILLS + 2), 600)
        acked_before_kill.append(len(sender.acked))
        collector.kill9()
        time.sleep(0.5)
        collector.start()
    sender.join(timeout=900)
    exporter_logger.removeHandler(interrupted)
    assert not sender.is_alive()
    collector.stop()

    acked = {key(span) for index in sender.acked for span in batches[index]}
    stored_rows = collector.read("SELECT trace_id, span_id FROM spans")
    stored = set(stored_rows)
    assert collector.kills == KILLS
    # At least one export attempt was cut by a kill: either the exporter gave up (the sender
    # re-sent the batch) or it retried by itself after the collector came back.
    assert sender.failed_exports + interrupted.count >= 1
    assert acked <= stored  # nothing acknowledged is lost
    assert len(stored_rows) == len(stored) == len(sent)  # nothing duplicated, all delivered
    assert stored == sent
    # The derived traces table agrees with the spans it summarizes.
    traces = collector.read("SELECT count(*), sum(span_count) FROM traces")[0]
    assert traces == (len({t for t, _ in sent}), len(sent))
    print(
        f"\nkill -9 during ingest: {len(sent)} spans in {len(batches)} exports, "
        f"{collector.kills} kills after {acked_before_kill} acknowledged exports, "
        f"{interrupted.count} interrupted attempts, {sender.failed_exports} failed exports "
        f"re-sent; stored {len(stored_rows)}, "
        f"lost {len(acked - stored)}, duplicated {len(stored_rows) - len(stored)}"
    )
