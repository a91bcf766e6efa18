"""Scoring a suite's runs with its evaluators, and turning scores into summaries, threshold
verdicts and a comparison with a baseline run."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from ..declare import Evaluator
from ..runner import Runtime, evaluate
from .execute import TargetRun
from .results import (
    BaselineComparison,
    EvaluatorSummary,
    ExampleChange,
    ExampleResult,
    ScoreOutcome,
    ThresholdOutcome,
)
from .stats import bootstrap_mean, compare_paired
from .suite import MeanScore, NoSignificantRegression, PassRate, Threshold

SPAN_TEXT_COLUMNS = ("input", "output")


def score_runs(
    runs: Sequence[TargetRun], evaluators: Sequence[Evaluator], runtime: Runtime
) -> list[ExampleResult]:
    """Each run with every evaluator's outcome. A run whose target raised is errored for
    every evaluator (it counts against pass rates); other runs are scored on their root
    span, with the example's ``expected`` as the reference."""
    results = [
        ExampleResult(
            example_id=run.example.example_id,
            repetition=run.repetition,
            input=run.example.input,
            expected=run.example.expected,
            output=run.output,
            error=run.error,
            trace_id=run.trace_id,
            cached=run.cached,
        )
        for run in runs
    ]
    scorable = [(i, run) for i, run in enumerate(runs) if run.error is None]
    for i, run in enumerate(runs):
        if run.error is not None:
            for evaluator in evaluators:
                results[i].scores[evaluator.name] = ScoreOutcome(
                    errored=True, error=f"the target raised: {run.error}"
                )
    if not scorable:
        return results
    table = _root_table([run for _, run in scorable])
    traces = {run.trace_id or "": run.rows or [] for _, run in scorable}
    for evaluator in evaluators:
        outcome = evaluate(evaluator, table, traces=traces, runtime=runtime)
        for record in outcome.table.to_pylist():
            index = scorable[record["row"]][0]
            results[index].scores[evaluator.name] = outcome_from_record(record)
    return results


def _root_table(runs: Sequence[TargetRun]) -> pa.Table:
    records = []
    for run in runs:
        row = dict(run.root_row or _bare_row(run))
        row["reference"] = as_text(run.example.expected)
        context = [
            str(r["output"])
            for r in run.rows or []
            if r.get("kind") == "retriever" and r.get("output")
        ]
        row["retrieved_context"] = context
        row["root_input"] = row.get("input")
        records.append({k: v for k, v in row.items() if k != "children"})
    return pa.Table.from_pylist(records)


def _bare_row(run: TargetRun) -> dict[str, Any]:
    """A root row for a run with no captured spans (recorded outputs)."""
    return {
        "project": "eval",
        "trace_id": run.trace_id or "",
        "span_id": run.root_span_id or run.example.example_id,
        "name": "recorded output",
        "kind": "chain",
        "status": "ok",
        "input": as_text(run.example.input),
        "output": as_text(run.output),
    }


def outcome_from_record(record: Mapping[str, Any]) -> ScoreOutcome:
    """A ScoreOutcome from one row of an evaluator's result table."""
    return ScoreOutcome(
        value=record["value"],
        passed=record["passed"],
        label=record["label"],
        explanation=record["explanation"],
        errored=record["status"] == "errored",
        error=record["error"],
    )


def as_text(value: Any) -> str | None:
    """A value as span text: strings as they are, anything else as JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def per_example(
    results: Sequence[ExampleResult], evaluator: str, *, measure: str
) -> dict[str, list[float]]:
    """Per example id, one number per repetition: ``measure="pass"`` gives 1/0 (errored
    and missing count as 0, a decided score without a verdict, label only, is skipped),
    ``measure="value"`` the score's value (errored skipped)."""
    values: dict[str, list[float]] = defaultdict(list)
    for result in results:
        outcome = result.scores.get(evaluator)
        if measure == "pass":
            if outcome is not None and not outcome.errored and outcome.passed is None:
                continue
            values[result.example_id].append(
                1.0 if outcome is not None and not outcome.errored and outcome.passed else 0.0
            )
        elif outcome is not None and (number := outcome.as_number()) is not None:
            values[result.example_id].append(number)
    return dict(values)


def summarize(
    results: Sequence[ExampleResult], evaluators: Sequence[Evaluator], seed: int = 0
) -> list[EvaluatorSummary]:
    """Mean and pass rate with bootstrap intervals per evaluator."""
    summaries = []
    for evaluator in evaluators:
        outcomes = [r.scores.get(evaluator.name) for r in results]
        summaries.append(
            EvaluatorSummary(
                name=evaluator.name,
                version=evaluator.version,
                mean=bootstrap_mean(
                    list(per_example(results, evaluator.name, measure="value").values()), seed=seed
                ),
                pass_rate=bootstrap_mean(
                    list(per_example(results, evaluator.name, measure="pass").values()), seed=seed
                ),
                scored=sum(1 for o in outcomes if o is not None and not o.errored),
                errored=sum(1 for o in outcomes if o is None or o.errored),
                direction=evaluator.direction,
            )
        )
    return summaries


def compare_with_baseline(
    results: Sequence[ExampleResult],
    baseline: Mapping[str, Any],
    evaluators: Mapping[str, str] | Sequence[str],
) -> BaselineComparison:
    """Paired comparison per evaluator, and the examples whose verdict flipped.

    ``evaluators`` maps each name to its direction (a plain list of names means
    ``higher``). Values are compared the way their direction says; an evaluator whose value
    has no better side (``none``) is compared on its pass rate."""
    directions = (
        dict(evaluators) if isinstance(evaluators, Mapping) else dict.fromkeys(evaluators, "higher")
    )
    base_results = [_result_from_dict(r) for r in baseline.get("examples", [])]
    paired = {}
    newly_failing: list[ExampleChange] = []
    newly_passing: list[ExampleChange] = []
    traces = {r.example_id: r.trace_id for r in results}
    for name, direction in directions.items():
        measure = "pass" if direction == "none" else "value"
        current_values = per_example(results, name, measure=measure)
        base_values = per_example(base_results, name, measure=measure)
        paired[name] = compare_paired(
            current_values,
            base_values,
            measure=measure,
            direction="higher" if direction == "none" else direction,
        )
        current_pass = per_example(results, name, measure="pass")
        base_pass = per_example(base_results, name, measure="pass")
        for example_id in sorted(set(current_pass) & set(base_pass)):
            now = sum(current_pass[example_id]) / len(current_pass[example_id])
            before = sum(base_pass[example_id]) / len(base_pass[example_id])
            change = ExampleChange(example_id, name, before, now, traces.get(example_id))
            if before >= 0.5 > now:
                newly_failing.append(change)
            elif now >= 0.5 > before:
                newly_passing.append(change)
    return BaselineComparison(
        str(baseline.get("run_id", "baseline")), paired, newly_failing, newly_passing
    )


def _result_from_dict(data: Mapping[str, Any]) -> ExampleResult:
    scores = {name: ScoreOutcome(**outcome) for name, outcome in (data.get("scores") or {}).items()}
    return ExampleResult(
        example_id=str(data["example_id"]),
        repetition=int(data.get("repetition", 0)),
        input=data.get("input"),
        expected=data.get("expected"),
        output=data.get("output"),
        error=data.get("error"),
        trace_id=data.get("trace_id"),
        scores=scores,
    )


def check_thresholds(
    thresholds: Sequence[Threshold],
    summaries: Sequence[EvaluatorSummary],
    comparison: BaselineComparison | None,
) -> list[ThresholdOutcome]:
    """The verdict of every threshold, with the numbers behind it."""
    by_name = {s.name: s for s in summaries}
    outcomes = []
    for threshold in thresholds:
        if isinstance(threshold, NoSignificantRegression):
            outcomes.append(_regression_outcome(threshold, comparison))
            continue
        summary = by_name[threshold.evaluator]
        interval = summary.pass_rate if isinstance(threshold, PassRate) else summary.mean
        at_most = threshold.at_most if isinstance(threshold, MeanScore) else None
        what = "pass rate" if isinstance(threshold, PassRate) else "mean"
        if at_most is not None:  # lower is better: the pessimistic bound is the upper one
            actual = interval.high if threshold.on == "lower" else interval.estimate
            side = "upper bound" if threshold.on == "lower" else "estimate"
            passed = interval.n > 0 and actual <= at_most
            bar, holds, fails = at_most, "≤", ">"
        else:
            actual = interval.low if threshold.on == "lower" else interval.estimate
            side = "lower bound" if threshold.on == "lower" else "estimate"
            bar = threshold.at_least if threshold.at_least is not None else 0.0
            passed = interval.n > 0 and actual >= bar
            holds, fails = "≥", "<"
        reason = (
            f"{what} {side} {actual:.3f} {holds} {bar:g}"
            if passed
            else f"{what} {side} {actual:.3f} {fails} {bar:g}"
            if interval.n
            else f"no {what} (nothing scored)"
        )
        outcomes.append(
            ThresholdOutcome(
                threshold.describe(), threshold.evaluator, passed, str(interval), reason
            )
        )
    return outcomes


def _regression_outcome(
    threshold: NoSignificantRegression, comparison: BaselineComparison | None
) -> ThresholdOutcome:
    if comparison is None or threshold.evaluator not in comparison.paired:
        return ThresholdOutcome(
            threshold.describe(), threshold.evaluator, True, "no baseline", "nothing to compare"
        )
    paired = comparison.paired[threshold.evaluator]
    regressed = paired.significant_regression(threshold.alpha, threshold.margin)
    what = "pass rate" if paired.measure == "pass" else "mean"
    better = "lower is better" if paired.direction == "lower" else "higher is better"
    actual = (
        f"{what} change {paired.difference} ({better}), p={paired.p_value:.3f}, "
        f"n={paired.n_pairs}, worse {paired.worsened}, better {paired.improved}"
    )
    reason = (
        f"significantly worse (p < {threshold.alpha:g})" if regressed else "not significantly worse"
    )
    return ThresholdOutcome(
        threshold.describe(), threshold.evaluator, not regressed, actual, reason
    )
