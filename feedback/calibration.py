"""Judge calibration: how well each evaluator version agrees with people.

For every evaluator version, its newest ``ok`` score on a span (or trace) is paired with the
newest human verdict on the same span for the same evaluator name (``kind='human'``
scores, e.g. a reviewer's verdicts). Verdicts compare as pass/fail when both sides say so
(``passed``), else by label. Per evaluator version: the number of labels, accuracy,
Cohen's kappa, precision / recall / F1 and the confusion matrix (scikit-learn). For
pass/fail the positive class is ``fail``: a judge's job is to catch failures.

Warnings: too few labels to trust, low agreement (kappa under ``low_kappa``), drift within
a version (the newer half of its labels agree less than the older half by
``drift_drop`` or more), and a version agreeing less than the version before it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

from loopwise.collector.store import Store

MIN_LABELS = 20
LOW_KAPPA = 0.4
DRIFT_DROP = 0.15
MIN_HALF = 10

PAIRS_SQL = """
WITH judge AS (
    SELECT name, coalesce(evaluator_version, '') AS evaluator_version, trace_id,
           coalesce(span_id, '') AS span_key,
           arg_max_null(passed, created_at) AS passed, arg_max_null(label, created_at) AS label,
           max(created_at) AS scored_at
    FROM scores
    WHERE kind <> 'human' AND status = 'ok'
      AND (CAST($project AS VARCHAR) IS NULL OR project = CAST($project AS VARCHAR))
      AND (CAST($evaluator AS VARCHAR) IS NULL OR name = CAST($evaluator AS VARCHAR))
    GROUP BY ALL
),
human AS (
    SELECT name, trace_id, coalesce(span_id, '') AS span_key,
           arg_max_null(passed, created_at) AS passed, arg_max_null(label, created_at) AS label,
           max(created_at) AS labelled_at
    FROM scores
    WHERE kind = 'human' AND status = 'ok'
      AND (CAST($project AS VARCHAR) IS NULL OR project = CAST($project AS VARCHAR))
    GROUP BY ALL
)
SELECT j.name, j.evaluator_version, j.passed AS judge_passed, j.label AS judge_label,
       h.passed AS human_passed, h.label AS human_label, h.labelled_at, j.scored_at
FROM judge j JOIN human h USING (name, trace_id, span_key)
ORDER BY j.name, j.evaluator_version, h.labelled_at
"""


@dataclass(frozen=True)
class Calibration:
    """Agreement of one evaluator version with human verdicts."""

    evaluator: str
    evaluator_version: str | None
    labels: int
    mode: str  # "pass/fail" or "label"
    accuracy: float | None
    kappa: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    classes: list[str]
    confusion: list[list[int]]  # rows: human verdict, columns: judge verdict
    first_labelled_at: Any = None
    last_labelled_at: Any = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return asdict(self)


def calibrate(
    store: Store,
    *,
    project: str | None = None,
    evaluator: str | None = None,
    min_labels: int = MIN_LABELS,
    low_kappa: float = LOW_KAPPA,
    drift_drop: float = DRIFT_DROP,
) -> list[Calibration]:
    """One Calibration per evaluator version that has human verdicts to compare with,
    ordered by evaluator and by when each version was first labelled."""
    rows = store.query(
        PAIRS_SQL, {"project": project, "evaluator": evaluator}, max_rows=10_000_000
    ).records()
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["name"], row["evaluator_version"]), []).append(row)
    reports: list[Calibration] = []
    for (name, version), pairs in groups.items():
        report = _measure(name, version or None, pairs, min_labels, low_kappa, drift_drop)
        if report is not None:
            reports.append(report)
    reports.sort(key=lambda r: (r.evaluator, str(r.first_labelled_at)))
    _compare_versions(reports, drift_drop)
    return reports


def _verdicts(pairs: list[dict[str, Any]]) -> tuple[str, list[tuple[str, str, Any]]]:
    binary = [p for p in pairs if p["judge_passed"] is not None and p["human_passed"] is not None]
    if len(binary) * 2 >= len(pairs) and binary:
        return "pass/fail", [
            (_pf(p["human_passed"]), _pf(p["judge_passed"]), p["labelled_at"]) for p in binary
        ]
    labelled = [p for p in pairs if p["judge_label"] is not None and p["human_label"] is not None]
    return "label", [
        (str(p["human_label"]).lower(), str(p["judge_label"]).lower(), p["labelled_at"])
        for p in labelled
    ]


def _pf(passed: bool) -> str:
    return "pass" if passed else "fail"


def _measure(
    name: str,
    version: str | None,
    pairs: list[dict[str, Any]],
    min_labels: int,
    low_kappa: float,
    drift_drop: float,
) -> Calibration | None:
    from sklearn.metrics import (  # imported here: scikit-learn takes a second to load
        accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    mode, verdicts = _verdicts(pairs)
    if not verdicts:
        return None
    human = [h for h, _, _ in verdicts]
    judge = [j for _, j, _ in verdicts]
    classes = ["fail", "pass"] if mode == "pass/fail" else sorted(set(human) | set(judge))
    with warnings.catch_warnings():  # one class only: the zero_division values are meant
        warnings.simplefilter("ignore", UserWarning)
        matrix = confusion_matrix(human, judge, labels=classes).tolist()
        if mode == "pass/fail":
            precision, recall, f1, _ = precision_recall_fscore_support(
                human, judge, labels=["fail"], average="macro", zero_division=0
            )
        else:
            precision, recall, f1, _ = precision_recall_fscore_support(
                human, judge, labels=classes, average="macro", zero_division=0
            )
    kappa = _kappa(human, judge)
    notes: list[str] = []
    if len(verdicts) < min_labels:
        notes.append(
            f"only {len(verdicts)} human label(s): at least {min_labels} are needed "
            "to trust these numbers"
        )
    if kappa is not None and kappa < low_kappa:
        notes.append(f"low agreement with people: kappa {kappa:.2f} < {low_kappa}")
    drift = _drift(verdicts, drift_drop)
    if drift:
        notes.append(drift)
    return Calibration(
        evaluator=name,
        evaluator_version=version,
        labels=len(verdicts),
        mode=mode,
        accuracy=float(accuracy_score(human, judge)),
        kappa=kappa,
        precision=float(precision),
        recall=float(recall),
        f1=float(f1),
        classes=classes,
        confusion=[[int(v) for v in row] for row in matrix],
        first_labelled_at=min(t for _, _, t in verdicts),
        last_labelled_at=max(t for _, _, t in verdicts),
        warnings=notes,
    )


def _kappa(human: list[str], judge: list[str]) -> float | None:
    from sklearn.metrics import cohen_kappa_score

    if len(set(human) | set(judge)) < 2:
        return None  # one class only: chance agreement is total, kappa is undefined
    value = float(cohen_kappa_score(human, judge))
    return None if math.isnan(value) else value


def _drift(verdicts: list[tuple[str, str, Any]], drift_drop: float) -> str | None:
    if len(verdicts) < 2 * MIN_HALF:
        return None
    ordered = sorted(verdicts, key=lambda v: v[2])
    half = len(ordered) // 2
    older, newer = ordered[:half], ordered[half:]
    before = sum(h == j for h, j, _ in older) / len(older)
    after = sum(h == j for h, j, _ in newer) / len(newer)
    if before - after >= drift_drop:
        return (
            f"agreement drifts down: accuracy {before:.2f} on the older half of the labels, "
            f"{after:.2f} on the newer half"
        )
    return None


def _compare_versions(reports: list[Calibration], drift_drop: float) -> None:
    previous: dict[str, Calibration] = {}
    for report in reports:
        before = previous.get(report.evaluator)
        if (
            before is not None
            and before.accuracy is not None
            and report.accuracy is not None
            and before.accuracy - report.accuracy >= drift_drop
        ):
            report.warnings.append(
                f"agrees less than version {before.evaluator_version}: accuracy "
                f"{report.accuracy:.2f} vs {before.accuracy:.2f}"
            )
        previous[report.evaluator] = report
