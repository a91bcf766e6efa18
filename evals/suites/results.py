"""What a suite run produced: per-example outcomes, per-evaluator summaries, threshold
verdicts and the comparison with a baseline. Plain data, serializable to JSON."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from .stats import Interval, PairedComparison


@dataclass
class ScoreOutcome:
    """One evaluator's verdict on one output; ``errored`` means no verdict could be had."""

    value: float | None = None
    passed: bool | None = None
    label: str | None = None
    explanation: str | None = None
    errored: bool = False
    error: str | None = None

    def as_number(self) -> float | None:
        """The value that statistics use: the score's value, else 1/0 for pass/fail."""
        if self.errored:
            return None
        if self.value is not None and not math.isnan(self.value):
            return float(self.value)
        if self.passed is not None:
            return 1.0 if self.passed else 0.0
        return None


@dataclass
class ExampleResult:
    """The target's output for one example and one repetition, and how it scored."""

    example_id: str
    repetition: int
    input: Any
    expected: Any = None
    output: Any = None
    error: str | None = None
    trace_id: str | None = None
    cached: bool = False
    scores: dict[str, ScoreOutcome] = field(default_factory=dict)


@dataclass
class EvaluatorSummary:
    """Mean value and pass rate with intervals.

    The mean is over the values of scores that were decided; the pass rate is passes over
    the scores with a verdict plus the errored ones (an error counts against it), and in a
    suite an example the evaluator did not score counts as errored. ``direction`` says
    which way of the mean is better (``higher``, ``lower``; ``none``: only the pass rate
    ranks runs).
    """

    name: str
    version: str | None
    mean: Interval
    pass_rate: Interval
    scored: int
    errored: int
    direction: str = "higher"


@dataclass
class ThresholdOutcome:
    """Whether one threshold held, with the numbers behind the verdict."""

    description: str
    evaluator: str
    passed: bool
    actual: str
    reason: str


@dataclass
class ExampleChange:
    """An example whose pass/fail verdict changed against the baseline."""

    example_id: str
    evaluator: str
    baseline: float
    current: float
    trace_id: str | None = None


@dataclass
class BaselineComparison:
    """Current run against a baseline run, per evaluator."""

    baseline_run_id: str
    paired: dict[str, PairedComparison]
    newly_failing: list[ExampleChange]
    newly_passing: list[ExampleChange]


@dataclass
class RunReport:
    """Everything a suite run recorded; ``passed`` is the gate's verdict."""

    run_id: str
    suite: str
    dataset: str
    started_at: str
    finished_at: str
    passed: bool
    examples: list[ExampleResult]
    summaries: list[EvaluatorSummary]
    thresholds: list[ThresholdOutcome]
    comparison: BaselineComparison | None = None
    context: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN becomes None)."""
        cleaned: dict[str, Any] = _clean(dataclasses.asdict(self))
        return cleaned


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
