"""The LLM judge against a real OpenAI-compatible stub server, misbehaviour included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import loopwise
from loopwise.collector.store import Store
from loopwise.evals import Runtime, evaluate, with_context
from loopwise.evals.judge import (
    JudgeConfigError,
    JudgeSettings,
    MemoryJudgeCache,
    StoreJudgeCache,
    judge,
    retry_after,
)
from loopwise.testing import Behavior, OpenAIStub

FAITHFUL = '{"explanation": "Every claim is in the context.", "label": "faithful", "score": 0.9}'


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with OpenAIStub(responder=lambda request: FAITHFUL) as server:
        yield server


class Waits:
    """An injected sleep that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def settings(stub: OpenAIStub, **options: Any) -> JudgeSettings:
    values: dict[str, Any] = {
        "base_url": stub.base_url,
        "model": "judge-1",
        "api_key": "test-key",
        "max_retries": 2,
        "timeout_s": 5.0,
        "price_input_per_m": 1.0,
        "price_output_per_m": 2.0,
    }
    values.update(options)
    return JudgeSettings(**values)


def reply_span(spans: Any, output: str = "Refunds take 5-7 business days.") -> pa.Table:
    trace = spans.trace_id()
    rows = [
        spans.row(
            trace_id=trace,
            span_id="00000000000000b1",
            name="triage",
            kind="chain",
            input="How long does a refund take?",
            output=output,
        ),
        spans.row(
            trace_id=trace,
            name="retrieve",
            kind="retriever",
            parent_span_id="00000000000000b1",
            output="We refund returned items within 5-7 business days.",
        ),
        spans.row(
            trace_id=trace,
            name="draft_reply",
            parent_span_id="00000000000000b1",
            input="(prompt)",
            output=output,
        ),
    ]
    return with_context(None, spans.table(rows)).slice(2)


def score_one(evaluator: Any, table: pa.Table) -> dict[str, Any]:
    [record] = evaluate(evaluator, table, runtime=Runtime()).records()
    return record


def test_verdict_becomes_a_score_and_a_traced_evaluator_span(stub: OpenAIStub, spans: Any) -> None:
    exporter = loopwise.TestingExporter()
    client = loopwise.Client()
    client.init("support-bot", exporter=exporter, batch=False, set_global=False)
    evaluator = judge("faithfulness", settings(stub), tracer=lambda project: client)
    record = score_one(evaluator, reply_span(spans))
    assert record["status"] == "ok" and record["passed"] is True
    assert (record["label"], record["value"]) == ("faithful", 0.9)
    assert record["explanation"] == "Every claim is in the context."
    assert record["name"] == "faithfulness_judge" and record["evaluator_version"] == "1"
    metadata = json.loads(record["metadata"])
    assert metadata["model"] == "judge-1" and metadata["input_tokens"] > 0
    request = stub.requests[-1]
    assert request["response_format"]["type"] == "json_schema"
    schema = request["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["label"]["enum"] == ["faithful", "unfaithful"]
    prompt = request["messages"][-1]["content"]
    assert "<context>\nWe refund returned items" in prompt and "<output>" in prompt
    [span] = exporter.rows("support-bot")
    assert (span["kind"], span["name"]) == ("evaluator", "judge faithfulness")
    assert span["input_tokens"] == metadata["input_tokens"] and span["output_tokens"] > 0
    assert span["cost_usd"] == pytest.approx(
        (span["input_tokens"] * 1.0 + span["output_tokens"] * 2.0) / 1e6
    )
    assert json.loads(span["attributes"])["loopwise.eval.target.span_id"] == record["span_id"]
    client.shutdown()


@pytest.mark.parametrize(
    "reply",
    [
        '```json\n{"explanation": "fine", "label": "unfaithful", "score": 0.2}\n```',
        'My verdict:\n{"explanation": "fine", "label": "unfaithful", "score": 0.2}\nThanks!',
        "{'explanation': 'fine', 'label': 'unfaithful', 'score': 0.2}",
        '{"explanation": "fine", "label": "Unfaithful", "score": 0.2,}',
    ],
)
def test_replies_that_ignore_the_schema_are_still_read(
    stub: OpenAIStub, spans: Any, reply: str
) -> None:
    stub.enqueue(Behavior.reply(reply))
    record = score_one(judge("faithfulness", settings(stub)), reply_span(spans))
    assert (record["status"], record["label"], record["passed"]) == ("ok", "unfaithful", False)


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ('{"explanation": "The reply is faithful', "truncated"),
        ("The output looks faithful to me.", "no JSON object"),
        ('{"explanation": "x", "label": "great", "score": 1}', "not one of faithful, unfaithful"),
        ('{"explanation": "x", "label": "faithful", "score": 7}', "outside [0, 1]"),
        ('{"explanation": "x", "score": 1}', "has no label"),
    ],
)
def test_malformed_replies_are_errored_never_passed(
    stub: OpenAIStub, spans: Any, reply: str, error: str
) -> None:
    stub.enqueue(Behavior.reply(reply))
    record = score_one(judge("faithfulness", settings(stub)), reply_span(spans))
    assert record["status"] == "errored" and record["passed"] is None
    assert error in record["error"]


def test_rate_limit_honours_retry_after(stub: OpenAIStub, spans: Any) -> None:
    waits = Waits()
    stub.enqueue(Behavior.rate_limited(retry_after_s=7))
    record = score_one(judge("faithfulness", settings(stub), sleep=waits), reply_span(spans))
    assert record["status"] == "ok" and waits.delays == [7.0]
    assert json.loads(record["metadata"])["attempts"] == 2
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert retry_after("soon") is None


def test_server_errors_back_off_then_give_up(stub: OpenAIStub, spans: Any) -> None:
    waits = Waits()
    stub.enqueue(Behavior.server_error(), Behavior.garbage())
    record = score_one(judge("faithfulness", settings(stub), sleep=waits), reply_span(spans))
    assert record["status"] == "ok" and len(waits.delays) == 2
    assert all(0 <= d <= 1.0 for d in waits.delays)  # full jitter under 0.5 s * 2^attempt

    stub.enqueue(Behavior.server_error(), Behavior.server_error(), Behavior.garbage())
    record = score_one(judge("faithfulness", settings(stub), sleep=Waits()), reply_span(spans))
    assert record["status"] == "errored" and record["passed"] is None
    assert "failed after 3 attempt(s): 200 without a completion" in record["error"]


def test_timeouts_are_retried(stub: OpenAIStub, spans: Any) -> None:
    stub.enqueue(Behavior.slow(1.0))
    evaluator = judge("faithfulness", settings(stub, timeout_s=0.3), sleep=Waits())
    record = score_one(evaluator, reply_span(spans))
    assert record["status"] == "ok"
    stub.enqueue(Behavior.slow(1.0), Behavior.slow(1.0))
    evaluator = judge("faithfulness", settings(stub, timeout_s=0.3, max_retries=1), sleep=Waits())
    record = score_one(evaluator, reply_span(spans))
    assert record["status"] == "errored" and "timed out after 0.3s" in record["error"]


def test_client_errors_fail_at_once_and_schema_rejection_falls_back(
    stub: OpenAIStub, spans: Any
) -> None:
    stub.enqueue(Behavior(status=401, body='{"error": {"message": "bad key"}}'))
    before = len(stub.requests)
    record = score_one(judge("faithfulness", settings(stub)), reply_span(spans))
    assert record["status"] == "errored" and "HTTP 401: bad key" in record["error"]
    assert len(stub.requests) == before + 1
    rejected = '{"error": {"message": "response_format json_schema is not supported"}}'
    stub.enqueue(Behavior(status=400, body=rejected))
    record = score_one(judge("faithfulness", settings(stub)), reply_span(spans))
    assert record["status"] == "ok" and "response_format" not in stub.requests[-1]


def test_cache_makes_reruns_free(stub: OpenAIStub, spans: Any, tmp_path: Path) -> None:
    table = reply_span(spans)
    memory = MemoryJudgeCache()
    first = score_one(judge("faithfulness", settings(stub), cache=memory), table)
    calls = len(stub.requests)
    second = score_one(judge("faithfulness", settings(stub), cache=memory), table)
    assert len(stub.requests) == calls and len(memory) == 1
    assert (second["label"], second["passed"]) == (first["label"], first["passed"])
    assert json.loads(second["metadata"])["cached"] is True
    with Store(tmp_path / "cache.duckdb") as store:
        score_one(judge("faithfulness", settings(stub), cache=StoreJudgeCache(store)), table)
        calls = len(stub.requests)
        again = judge("faithfulness", settings(stub), cache=StoreJudgeCache(store))
        assert score_one(again, table)["status"] == "ok" and len(stub.requests) == calls
        assert store.query("SELECT count(*) FROM judge_cache").rows == [(1,)]
        stub.enqueue(Behavior.reply('{"label": "faithf'))
        changed = reply_span(spans, output="Refunds take 30 days.")
        assert score_one(again, changed)["status"] == "errored"
        assert store.query("SELECT count(*) FROM judge_cache").rows == [(1,)]  # not cached


def test_templates_skip_spans_without_what_they_need(stub: OpenAIStub, spans: Any) -> None:
    table = reply_span(spans)
    assert evaluate(judge("correctness", settings(stub)), table).count == 0  # no reference
    verdict = '{"explanation": "polite", "label": "non_toxic", "score": 0.0}'
    stub.enqueue(Behavior.reply(verdict))
    record = score_one(judge("toxicity", settings(stub)), table)
    assert (record["label"], record["passed"]) == ("non_toxic", True)


def test_many_spans_concurrently(stub: OpenAIStub, spans: Any) -> None:
    tables = [reply_span(spans, output=f"Refund number {i} takes 5-7 days.") for i in range(40)]
    table = pa.concat_tables(tables)
    records = evaluate(
        judge("faithfulness", settings(stub, concurrency=4)), table, runtime=Runtime(concurrency=16)
    ).records()
    assert len(records) == 40 and all(r["status"] == "ok" for r in records)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOOPWISE_JUDGE_BASE_URL", raising=False)
    with pytest.raises(JudgeConfigError, match="set LOOPWISE_JUDGE_BASE_URL"):
        JudgeSettings.from_env()
    monkeypatch.setenv("LOOPWISE_JUDGE_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("LOOPWISE_JUDGE_MODEL", "gpt-4o-mini")
    monkeypatch.setenv("LOOPWISE_JUDGE_CONCURRENCY", "3")
    loaded = JudgeSettings.from_env()
    assert loaded.concurrency == 3 and loaded.cost(1_000_000, 1_000_000) == pytest.approx(0.75)
    monkeypatch.setenv("LOOPWISE_JUDGE_CONCURRENCY", "many")
    with pytest.raises(JudgeConfigError, match="must be a number"):
        JudgeSettings.from_env()
    with pytest.raises(JudgeConfigError, match="must start with http"):
        JudgeSettings(base_url="ftp://x", model="m")


def test_extract_object_respects_strings_and_nesting() -> None:
    from loopwise.evals.judge import extract_object

    text = 'Verdict {"explanation": "uses {braces} and \\"quotes\\"", "label": "faithful", "d": {}}'
    assert extract_object(text)["explanation"] == 'uses {braces} and "quotes"'
    assert extract_object("{'label': 'faithful', 'ok': true, 'x': null,}") == {
        "label": "faithful",
        "ok": True,
        "x": None,
    }
