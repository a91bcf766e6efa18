"""Score direction, checked by hand for every built-in evaluator: a failing output reads as
worse than a passing one in the mean, in the baseline comparison ("worse", "Newly
failing") and in ``NoSignificantRegression``; a fixed one reads as better.

Each case gives a passing and a failing span for one built-in and the values expected for
them, worked out by hand. The real evaluator scores eight examples in a baseline run and
a current run; the suite statistics do the rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pytest

from loopwise.evals import Runtime, evaluate, with_context
from loopwise.evals.declare import Evaluator
from loopwise.evals.judge import JudgeSettings, judge
from loopwise.evals.registry import default_registry
from loopwise.evals.suites import MeanScore, NoSignificantRegression, Suite, SuiteError
from loopwise.evals.suites.reports import to_markdown
from loopwise.evals.suites.results import ExampleResult, RunReport
from loopwise.evals.suites.scoring import (
    check_thresholds,
    compare_with_baseline,
    outcome_from_record,
    summarize,
)
from loopwise.testing import OpenAIStub

EXAMPLES = 8
QUESTION = "Where is my order ORD-1234? I would like to know when it will arrive."
SPANISH = "El pedido que usted hizo ya está en camino y llega el lunes con el paquete."
ENGLISH = "The order that you placed is on the way and it will arrive on Monday."


@dataclass(frozen=True)
class Case:
    """A built-in with options, a passing and a failing span (field overrides), and the
    values a person expects for each."""

    name: str
    params: Mapping[str, Any]
    good: Mapping[str, Any]
    bad: Mapping[str, Any]
    good_value: float
    bad_value: float
    direction: str
    reference: str | None = None
    context: str | None = None
    label: str = field(default="")

    @property
    def id(self) -> str:
        """A readable test id."""
        return self.label or self.name


CASES = [
    Case(
        "error_status",
        {},
        {"status": "ok"},
        {"status": "error", "status_message": "boom"},
        1.0,
        0.0,
        "higher",
    ),
    Case("valid_json", {}, {"output": '{"a": 1}'}, {"output": '{"a": 1'}, 1.0, 0.0, "higher"),
    Case(
        "json_schema",
        {"schema": {"type": "object", "required": ["a"]}},
        {"output": '{"a": 1}'},
        {"output": '{"b": 1}'},
        1.0,
        0.0,
        "higher",
    ),
    Case(
        "regex",
        {"pattern": r"^ORD-\d+$"},
        {"output": "ORD-12"},
        {"output": "none"},
        1.0,
        0.0,
        "higher",
        label="regex-must-match",
    ),
    Case(
        "regex",
        {"pattern": "secret", "must_match": False},
        {"output": "fine"},
        {"output": "the secret"},
        1.0,
        0.0,
        "higher",
        label="regex-forbidden",
    ),
    Case(
        "contains",
        {"text": ["refund", "days"], "mode": "all"},
        {"output": "a refund in 5 days"},
        {"output": "a refund soon"},
        1.0,
        0.0,
        "higher",
    ),
    Case(
        "contains",
        {"text": ["password"], "negate": True},
        {"output": "hello"},
        {"output": "the password is x"},
        1.0,
        0.0,
        "higher",
        label="contains-negated",
    ),
    Case(
        "exact_match",
        {},
        {"output": "Paris"},
        {"output": "Lyon"},
        1.0,
        0.0,
        "higher",
        reference="Paris",
    ),
    Case(
        "length_bounds",
        {"max_length": 10},
        {"output": "short"},
        {"output": "x" * 40},
        5.0,
        40.0,
        "none",
    ),
    Case(
        "language_mismatch",
        {},
        {"input": QUESTION, "output": ENGLISH},
        {"input": QUESTION, "output": SPANISH},
        1.0,
        0.0,
        "higher",
    ),
    Case(
        "pii_leakage",
        {},
        {"output": "Thanks, noted."},
        {"output": "Write to bob.smith@example.com"},
        0.0,
        1.0,
        "lower",
    ),
    Case(
        "token_f1",
        {},
        {"output": "the parcel ships on monday"},
        {"output": "bananas are yellow"},
        1.0,
        0.0,
        "higher",
        reference="the parcel ships on monday",
    ),
    Case(
        "rouge_l",
        {},
        {"output": "the parcel ships on monday"},
        {"output": "bananas are yellow"},
        1.0,
        0.0,
        "higher",
        reference="the parcel ships on monday",
    ),
    Case(
        "tfidf_similarity",
        {},
        {"output": "the parcel ships on monday"},
        {"output": "bananas are yellow"},
        1.0,
        0.0,
        "higher",
        reference="the parcel ships on monday",
    ),
    Case(
        "latency_threshold",
        {"max_ms": 100},
        {"duration_ms": 50.0},
        {"duration_ms": 500.0},
        50.0,
        500.0,
        "lower",
    ),
    Case(
        "token_threshold",
        {"max_tokens": 100},
        {"total_tokens": 50},
        {"total_tokens": 500},
        50.0,
        500.0,
        "lower",
    ),
    Case(
        "cost_threshold",
        {"max_usd": 0.01},
        {"cost_usd": 0.001},
        {"cost_usd": 0.5},
        0.001,
        0.5,
        "lower",
    ),
    Case(
        "refusal",
        {},
        {"output": "Here is the status of your order."},
        {"output": "I'm sorry, but I can't help with that."},
        1.0,
        0.0,
        "higher",
    ),
    Case(
        "invented_identifiers",
        {},
        {"input": QUESTION, "output": "ORD-1234 ships today."},
        {"input": QUESTION, "output": "ORD-9876 and ORD-5555 ship today."},
        0.0,
        2.0,
        "lower",
    ),
]
JUDGES = ("correctness", "faithfulness", "relevance", "helpfulness", "toxicity")
GOOD_MARK = "all good"


def judge_reply(request: Mapping[str, Any]) -> str:
    """The stub judge: the passing label for outputs carrying GOOD_MARK, else a failing one."""
    prompt = request["messages"][-1]["content"]
    labels = prompt.split("Labels: ", 1)[1].split(".", 1)[0].split(", ")
    output = prompt.rsplit("<output>", 1)[1]
    good = GOOD_MARK in output
    verdict = {
        "explanation": "judged",
        "label": labels[0] if good else labels[-1],
        "score": 0.9 if good else 0.2,
    }
    return json.dumps(verdict)


@pytest.fixture(scope="module")
def stub() -> Iterator[OpenAIStub]:
    with OpenAIStub(responder=judge_reply) as server:
        yield server


def judge_cases(stub: OpenAIStub) -> list[tuple[Evaluator, Case]]:
    settings = JudgeSettings(base_url=stub.base_url, model="judge", api_key="k", max_retries=0)
    return [
        (
            judge(name, settings),
            Case(
                f"{name}_judge",
                {},
                {"output": f"{GOOD_MARK}: it ships Monday."},
                {"output": "bad: no idea."},
                0.9,
                0.2,
                "higher",
                reference="It ships Monday.",
                context="Orders ship on Monday.",
            ),
        )
        for name in JUDGES
    ]


def results(evaluator: Evaluator, case: Case, spans: Any, good: bool) -> list[ExampleResult]:
    """One run: EXAMPLES examples, every output passing (``good``) or failing."""
    rows = []
    for number in range(EXAMPLES):
        trace = spans.trace_id()
        root = spans.span_id()
        rows.append(
            spans.row(
                trace_id=trace,
                span_id=root,
                name="root",
                kind="chain",
                input=case.good.get("input", QUESTION),
            )
        )
        if case.context:
            rows.append(
                spans.row(
                    trace_id=trace,
                    parent_span_id=root,
                    kind="retriever",
                    name="retrieve",
                    output=case.context,
                )
            )
        fields = dict(case.good if good else case.bad)
        rows.append(
            spans.row(trace_id=trace, parent_span_id=root, name=f"answer-{number}", **fields)
        )
    table = with_context(None, spans.table(rows))
    table = table.filter(pa.compute.starts_with(table["name"], "answer-"))
    table = table.append_column("reference", pa.array([case.reference] * EXAMPLES, pa.string()))
    outcome = evaluate(evaluator, table, runtime=Runtime())
    examples = [
        ExampleResult(example_id=f"e{i}", repetition=0, input=None) for i in range(EXAMPLES)
    ]
    for record in outcome.table.to_pylist():
        examples[record["row"]].scores[evaluator.name] = outcome_from_record(record)
    return examples


def report(examples: list[ExampleResult], evaluator: Evaluator) -> dict[str, Any]:
    """A baseline as a stored report reads back."""
    run = RunReport("base", "s", "d", "", "", True, examples, summarize(examples, [evaluator]), [])
    return run.to_dict()


def check(evaluator: Evaluator, case: Case, spans: Any) -> None:
    assert evaluator.direction == case.direction
    good = results(evaluator, case, spans, good=True)
    bad = results(evaluator, case, spans, good=False)
    for runs, value, passed in ((good, case.good_value, True), (bad, case.bad_value, False)):
        outcomes = [r.scores[evaluator.name] for r in runs]
        assert [o.passed for o in outcomes] == [passed] * EXAMPLES, outcomes[0]
        assert outcomes[0].value == pytest.approx(value, abs=0.02)

    [good_summary] = summarize(good, [evaluator])
    [bad_summary] = summarize(bad, [evaluator])
    assert (good_summary.pass_rate.estimate, bad_summary.pass_rate.estimate) == (1.0, 0.0)
    assert good_summary.direction == case.direction
    if case.direction == "higher":
        assert bad_summary.mean.estimate < good_summary.mean.estimate
    elif case.direction == "lower":
        assert bad_summary.mean.estimate > good_summary.mean.estimate

    gate = [NoSignificantRegression(evaluator.name)]
    directions = {evaluator.name: evaluator.direction}
    got_worse = compare_with_baseline(bad, report(good, evaluator), directions)
    paired = got_worse.paired[evaluator.name]
    assert (paired.worsened, paired.improved) == (EXAMPLES, 0)
    assert [c.example_id for c in got_worse.newly_failing] == [f"e{i}" for i in range(EXAMPLES)]
    assert got_worse.newly_passing == []
    [held] = check_thresholds(gate, [bad_summary], got_worse)
    assert not held.passed, held
    assert f"worse {EXAMPLES}, better 0" in held.actual

    got_better = compare_with_baseline(good, report(bad, evaluator), directions)
    paired = got_better.paired[evaluator.name]
    assert (paired.worsened, paired.improved) == (0, EXAMPLES)
    assert len(got_better.newly_passing) == EXAMPLES and got_better.newly_failing == []
    [held] = check_thresholds(gate, [good_summary], got_better)
    assert held.passed, held

    markdown = to_markdown(
        RunReport("cur", "s", "d", "", "", False, bad, [bad_summary], [], got_worse)
    )
    assert f"| {EXAMPLES} |" in markdown.split("Against baseline")[1].splitlines()[4]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_failing_output_reads_as_worse(case: Case, spans: Any) -> None:
    evaluator = default_registry().create(case.name, dict(case.params))
    check(evaluator, case, spans)


def test_a_failing_verdict_reads_as_worse_for_every_judge(stub: OpenAIStub, spans: Any) -> None:
    for evaluator, case in judge_cases(stub):
        check(evaluator, case, spans)


def test_every_built_in_is_covered() -> None:
    registry = default_registry()
    code = {n for n in registry.names() if registry.get(n).kind == "code"}
    judges = {n for n in registry.names() if registry.get(n).kind == "llm"}
    assert code == {c.name for c in CASES}
    assert judges == {f"{name}_judge" for name in JUDGES}


def test_mean_thresholds_follow_the_direction(spans: Any) -> None:
    def suite(threshold: MeanScore) -> Suite:
        return Suite(
            name="s",
            dataset="d.jsonl",
            target=lambda x: x,
            evaluators=[default_registry().create("latency_threshold", {"max_ms": 100})],
            thresholds=[threshold],
        )

    with pytest.raises(SuiteError, match="lower values are better for this evaluator"):
        suite(MeanScore("latency_threshold", at_least=100)).check()
    with pytest.raises(SuiteError, match="exactly one of at_least= and at_most="):
        suite(MeanScore("latency_threshold")).check()
    suite(MeanScore("latency_threshold", at_most=100)).check()

    case = next(c for c in CASES if c.name == "latency_threshold")
    evaluator = default_registry().create(case.name, dict(case.params))
    [slow] = summarize(results(evaluator, case, spans, good=False), [evaluator])
    [fast] = summarize(results(evaluator, case, spans, good=True), [evaluator])
    gate = [MeanScore("latency_threshold", at_most=100)]
    [failed] = check_thresholds(gate, [slow], None)
    [held] = check_thresholds(gate, [fast], None)
    assert (failed.passed, failed.reason) == (False, "mean estimate 500.000 > 100")
    assert (held.passed, held.reason) == (True, "mean estimate 50.000 ≤ 100")
    assert failed.description == "latency_threshold mean ≤ 100"
