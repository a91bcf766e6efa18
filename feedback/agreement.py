"""Agreement between reviewers: how far two people judging the same output agree.

Beside judge-human agreement (``calibration.py``), a team that has some items reviewed twice
wants to know whether its own labels are consistent before it trusts them as ground truth.
For every evaluator name, the spans (or traces) that at least two distinct reviewers gave a
verdict on are paired: each reviewer's newest verdict counts, and the first two reviewers of
a span (by their first verdict on it) are its raters A and B. Per evaluator: the number of
doubly reviewed outputs, the share where the two agree, and Cohen's kappa (scikit-learn) of
A against B. Verdicts compare as pass/fail when both say so, else by label.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

from loopwise.collector.store import Store

from .verdicts import HUMAN_SOURCE

MIN_PAIRS = 20

PAIRS_SQL = f"""
WITH latest AS (
    SELECT name, trace_id, coalesce(span_id, '') AS span_key, author,
           arg_max_null(passed, created_at) AS passed, arg_max_null(label, created_at) AS label,
           min(created_at) AS first_at
    FROM scores
    WHERE kind = 'human' AND source = '{HUMAN_SOURCE}' AND status = 'ok' AND author IS NOT NULL
      AND (CAST($project AS VARCHAR) IS NULL OR project = CAST($project AS VARCHAR))
      AND (CAST($evaluator AS VARCHAR) IS NULL OR name = CAST($evaluator AS VARCHAR))
    GROUP BY name, trace_id, span_key, author
),
ranked AS (
    SELECT *, row_number() OVER (
        PARTITION BY name, trace_id, span_key ORDER BY first_at, author) AS rater
    FROM latest
)
SELECT a.name, a.passed AS a_passed, a.label AS a_label, b.passed AS b_passed,
       b.label AS b_label
FROM ranked a JOIN ranked b USING (name, trace_id, span_key)
WHERE a.rater = 1 AND b.rater = 2
ORDER BY a.name
"""


@dataclass(frozen=True)
class ReviewerAgreement:
    """How far two reviewers of the same outputs agree, for one evaluator."""

    evaluator: str
    pairs: int
    mode: str  # "pass/fail" or "label"
    agreement: float | None
    kappa: float | None
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return asdict(self)


def reviewer_agreement(
    store: Store,
    *,
    project: str | None = None,
    evaluator: str | None = None,
    min_pairs: int = MIN_PAIRS,
) -> list[ReviewerAgreement]:
    """One report per evaluator name that some output has two reviewers' verdicts for."""
    rows = store.query(
        PAIRS_SQL, {"project": project, "evaluator": evaluator}, max_rows=10_000_000
    ).records()
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["name"], []).append(row)
    return [_measure(name, pairs, min_pairs) for name, pairs in sorted(groups.items())]


def _measure(name: str, pairs: list[dict[str, Any]], min_pairs: int) -> ReviewerAgreement:
    binary = [p for p in pairs if p["a_passed"] is not None and p["b_passed"] is not None]
    if binary and len(binary) * 2 >= len(pairs):
        mode = "pass/fail"
        a = [str(bool(p["a_passed"])) for p in binary]
        b = [str(bool(p["b_passed"])) for p in binary]
    else:
        mode = "label"
        kept = [p for p in pairs if p["a_label"] is not None and p["b_label"] is not None]
        a = [str(p["a_label"]).lower() for p in kept]
        b = [str(p["b_label"]).lower() for p in kept]
    agreement = sum(x == y for x, y in zip(a, b, strict=True)) / len(a) if a else None
    kappa = _kappa(a, b)
    notes = []
    if len(a) < min_pairs:
        notes.append(f"only {len(a)} outputs reviewed twice (fewer than {min_pairs})")
    if kappa is not None and kappa < 0.4:
        notes.append(f"reviewers disagree: kappa {kappa:.2f} < 0.4; tighten the rubric")
    return ReviewerAgreement(name, len(a), mode, agreement, kappa, notes)


def _kappa(a: list[str], b: list[str]) -> float | None:
    if not a or len(set(a) | set(b)) < 2:
        return None  # one class only: chance agreement is total, kappa is undefined
    from sklearn.metrics import cohen_kappa_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(cohen_kappa_score(a, b))
    return None if math.isnan(value) else value
