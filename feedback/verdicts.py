"""Human verdicts: what a reviewer says about an output, per evaluator.

A verdict is stored as a row of the shared ``scores`` table: ``kind='human'``,
``source='reviewer'``, ``name`` = the evaluator's name, ``label`` = the verdict as given,
``passed``/``value`` = 1/0 when the verdict says pass or fail. These rows are the labels that
calibrate each evaluator (``loopwise.feedback.calibration``). A changed verdict adds a row;
the newest one counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loopwise.collector.store import ScoreRow

from .errors import FeedbackError

HUMAN_SOURCE = "reviewer"
PASS_WORDS = frozenset({"pass", "passed", "true", "yes", "good", "ok", "correct", "up"})
FAIL_WORDS = frozenset({"fail", "failed", "false", "no", "bad", "wrong", "incorrect", "down"})
MAX_LABEL_CHARS = 100
MAX_EVALUATORS = 50


@dataclass(frozen=True)
class Verdict:
    """One verdict: the label as given, and pass/fail when the label says so."""

    label: str
    passed: bool | None

    @property
    def value(self) -> float | None:
        """1.0 for pass, 0.0 for fail, None for any other label."""
        return None if self.passed is None else float(self.passed)


def parse_verdict(value: Any, evaluator: str = "verdict") -> Verdict:
    """A verdict from ``True``/``False`` or a label such as ``pass``, ``fail``, ``hallucinated``."""
    if isinstance(value, bool):
        return Verdict("pass" if value else "fail", value)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_LABEL_CHARS:
        raise FeedbackError(
            f"verdict for {evaluator!r} must be true/false or a label of 1-{MAX_LABEL_CHARS} "
            f"characters (pass, fail, ...), got {value!r}"
        )
    label = value.strip()
    lowered = label.lower()
    passed = True if lowered in PASS_WORDS else False if lowered in FAIL_WORDS else None
    return Verdict(label, passed)


def parse_verdicts(value: Any) -> dict[str, Verdict]:
    """``{evaluator: verdict}`` from a JSON object (None means no verdicts)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise FeedbackError('verdicts must be an object: {"evaluator name": "pass" | "fail" | ...}')
    if len(value) > MAX_EVALUATORS:
        raise FeedbackError(f"at most {MAX_EVALUATORS} verdicts per action")
    verdicts: dict[str, Verdict] = {}
    for name, verdict in value.items():
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise FeedbackError(f"evaluator name {name!r} must be a non-empty string")
        verdicts[name.strip()] = parse_verdict(verdict, name)
    return verdicts


def verdict_scores(
    verdicts: Mapping[str, Verdict],
    *,
    project: str,
    trace_id: str,
    span_id: str | None,
    author: str,
    comment: str | None,
    metadata: Mapping[str, Any],
) -> list[ScoreRow]:
    """One human score row per verdict."""
    return [
        ScoreRow(
            project=project,
            trace_id=trace_id,
            span_id=span_id,
            name=evaluator,
            kind="human",
            source=HUMAN_SOURCE,
            value=verdict.value,
            label=verdict.label,
            passed=verdict.passed,
            author=author,
            comment=comment,
            metadata={**metadata, "evaluator": evaluator},
        )
        for evaluator, verdict in verdicts.items()
    ]
