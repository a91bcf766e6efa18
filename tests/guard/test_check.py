"""``loopwise.check``: evaluators run inline on one output, never raise, and are recorded on
the current span."""

from __future__ import annotations

import asyncio
import json

import pytest

import loopwise
from loopwise.evals import Score, SpanView, evaluator

TICKET = "Where is my order ORD-10001?"
RETRIEVED = ["ORD-10001: shipped on 2 Dec, arriving 4 Dec"]


@evaluator(name="always_breaks", version="1")
def always_breaks(span: SpanView) -> Score:
    """An evaluator with a bug."""
    raise RuntimeError("bug in the evaluator")


@evaluator(name="slow_judge", version="1")
async def slow_judge(span: SpanView) -> Score:
    """A judge that never answers in time."""
    await asyncio.sleep(30)
    return Score(passed=True)


def test_a_grounded_valid_answer_passes() -> None:
    result = loopwise.check(
        '{"reply": "ORD-10001 arrives on 4 Dec"}',
        evaluators=["valid_json", "invented_identifiers", "refusal"],
        input=TICKET,
        context={"retrieved": RETRIEVED},
    )
    assert result.passed
    assert set(result.scores) == {"valid_json", "invented_identifiers", "refusal"}
    assert all(score.status == "ok" for score in result.scores.values())
    assert result.failed == ()


def test_an_invented_order_id_fails_with_the_reason() -> None:
    result = loopwise.check(
        "Your order ORD-99999 ships tomorrow.",
        evaluators=["invented_identifiers"],
        input=TICKET,
        context={"retrieved": RETRIEVED},
    )
    assert not result.passed
    assert result.failed == ("invented_identifiers",)
    assert "ORD-99999" in (result.scores["invented_identifiers"].explanation or "")
    assert result.reasons() == [
        "invented_identifiers: ORD-99999 appears nowhere in the input or retrieved context"
    ]


def test_the_retrieved_context_is_what_grounds_an_identifier() -> None:
    answer = "ORD-10001 arrives on 4 Dec"
    without = loopwise.check(answer, evaluators=["invented_identifiers"], input="hi")
    grounded = loopwise.check(
        answer, evaluators=["invented_identifiers"], input="hi", context={"retrieved": RETRIEVED}
    )
    assert not without.passed and grounded.passed


@pytest.mark.parametrize(("errors", "passed"), [("fail", False), ("pass", True)])
def test_errored_scores_follow_the_stated_policy(errors: str, passed: bool) -> None:
    result = loopwise.check(
        '{"ok": true}',
        evaluators=["valid_json", always_breaks, "no_such_evaluator"],
        errors=errors,  # type: ignore[arg-type]
    )
    assert result.passed is passed
    assert set(result.errored) == {"always_breaks", "no_such_evaluator"}
    assert "bug in the evaluator" in (result.scores["always_breaks"].error or "")
    assert "no evaluator named" in (result.scores["no_such_evaluator"].error or "")
    assert result.scores["valid_json"].passed is True


def test_a_judge_past_its_timeout_is_an_errored_score_not_a_hang() -> None:
    result = loopwise.check("anything", evaluators=[slow_judge], judge_timeout_s=0.2)
    assert not result.passed
    assert result.scores["slow_judge"].status == "errored"
    assert "no verdict within 0.2 s" in (result.scores["slow_judge"].error or "")


def test_outputs_that_are_not_text_are_checked_as_json() -> None:
    result = loopwise.check({"reply": "fine"}, evaluators=["valid_json"])
    assert result.passed


def test_the_check_is_recorded_on_the_current_span() -> None:
    exporter = loopwise.TestingExporter()
    client = loopwise.Client()
    client.init("guarded", exporter=exporter, batch=False, set_global=False)
    with client.span("draft_reply", kind="llm") as span:
        span.set_output("Your order ORD-99999 ships tomorrow.")
        result = loopwise.check(
            "Your order ORD-99999 ships tomorrow.",
            evaluators=["invented_identifiers", "valid_json"],
            input=TICKET,
        )
    client.shutdown()
    assert not result.passed
    [row] = exporter.rows("guarded")
    attributes = json.loads(row["attributes"])
    assert attributes["loopwise.check.passed"] is False
    assert attributes["loopwise.check.failed"] == ["invented_identifiers", "valid_json"]
    events = json.loads(row["events"])
    checked = {e["attributes"]["loopwise.check.evaluator"]: e for e in events}
    assert set(checked) == {"invented_identifiers", "valid_json"}
    assert checked["invented_identifiers"]["attributes"]["loopwise.check.passed"] is False


def test_check_outside_any_span_still_answers() -> None:
    result = loopwise.check("plain text", evaluators=["valid_json"])
    assert not result.passed
    assert result.failed == ("valid_json",)
