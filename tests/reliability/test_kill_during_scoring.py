"""kill -9 of the collector during online scoring: every span is scored exactly once.

``loopwise collect`` runs the default evaluators online. LLM spans are ingested, and while
the worker is part-way through them (some scored, a backlog left) the collector is SIGKILLed,
twice, and started again. Its scores are then compared with those of a control collector
that scored the same spans without interruption: the same (span, evaluator, version,
verdict) for every span, none missing, none twice. Scores and the watermark are committed in
one transaction, so a batch cut by the kill is scored again from the start after restart.
"""

from __future__ import annotations

import collections
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

SPANS = 6000
KILLS = 2
OUTPUTS = [
    "Your order ORD-{n} ships tomorrow.",
    '{{"category": "refund", "priority": "high"}}',
    "I'm sorry, I can't help with that.",
    "Contact me at jane.doe{n}@example.com or 555-010-{n:04d}.",
    "Votre commande est en route.",
]


def llm_spans() -> list[ReadableSpan]:
    """LLM spans made by the OpenTelemetry SDK, with outputs the default evaluators judge."""
    captured = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "fault-scoring", "loopwise.project": "faults"})
    )
    provider.add_span_processor(SimpleSpanProcessor(captured))
    tracer = provider.get_tracer("fault-injection")
    for n in range(SPANS):
        with tracer.start_as_current_span("draft_reply") as span:
            span.set_attribute("openinference.span.kind", "LLM")
            span.set_attribute("llm.model_name", "gpt-4.1-mini")
            span.set_attribute("input.value", f"Where is my order? Reply in English. ({n})")
            span.set_attribute("output.value", OUTPUTS[n % len(OUTPUTS)].format(n=n))
            span.set_attribute("llm.token_count.prompt", 50 + n % 7)
            span.set_attribute("llm.token_count.completion", 20 + n % 5)
    spans = list(captured.get_finished_spans())
    provider.shutdown()
    return spans


def ingest(url: str, spans: list[ReadableSpan]) -> None:
    exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", timeout=30)
    for i in range(0, len(spans), 500):
        assert exporter.export(spans[i : i + 500]) == SpanExportResult.SUCCESS


def progress(url: str) -> tuple[int, int]:
    """(spans processed, backlog) summed over the online evaluators."""
    status: dict[str, Any] = httpx.get(f"{url}/api/evals/status", timeout=30).json()
    evaluators = status["evaluators"]
    return sum(e["processed"] for e in evaluators), sum(e["backlog"] for e in evaluators)


def scores_of(collector) -> collections.Counter[tuple[Any, ...]]:
    rows = collector.read(
        "SELECT trace_id, span_id, name, evaluator_version, passed, status FROM scores "
        "WHERE source <> 'human'"
    )
    return collections.Counter(rows)


@pytest.mark.slow
def test_kill_9_during_online_scoring_scores_every_span_exactly_once(
    collector_process, until
) -> None:
    spans = llm_spans()
    control, killed = collector_process(), collector_process()

    killed.start()
    ingest(killed.url, spans)
    cut_at: list[tuple[int, int]] = []
    for _ in range(KILLS):
        # Wait until the worker is part-way, past the last cut: more scored, a backlog left.
        done = cut_at[-1][0] if cut_at else 0
        assert until(
            lambda d=done: progress(killed.url)[0] > d and progress(killed.url)[1] > 0, 300, 0.02
        )
        cut_at.append(progress(killed.url))
        killed.kill9()
        killed.start()
    assert until(lambda: progress(killed.url)[1] == 0, 600, 0.5)
    killed.stop()

    control.start()
    ingest(control.url, spans)
    assert until(lambda: progress(control.url)[1] == 0, 600, 0.5)
    control.stop()

    expected, got = scores_of(control), scores_of(killed)
    assert expected  # the default evaluators scored these spans
    assert sum(got.values()) == sum(expected.values())
    assert got == expected  # the same verdicts: nothing lost, nothing twice
    assert max(got.values()) == 1
    flags = killed.read("SELECT count(*), count(DISTINCT cause_key) FROM flags")[0]
    assert flags[0] == flags[1]
    print(
        f"\nkill -9 during scoring: {len(spans)} spans, kills at (processed, backlog) {cut_at}; "
        f"{sum(got.values())} scores, as the uninterrupted control; {flags[0]} flags; "
        f"missing {sum((expected - got).values())}, extra {sum((got - expected).values())}"
    )
