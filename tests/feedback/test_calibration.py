"""Judge calibration: agreement of each evaluator version with human verdicts, computed by
hand here, and the warnings for few labels, low agreement and drift."""

from __future__ import annotations

import datetime as dt

import pytest

from loopwise.collector.store import ScoreRow, Store, append_scores
from loopwise.feedback import calibrate

T0 = dt.datetime(2026, 1, 1)


def pairs(
    store: Store,
    evaluator: str,
    version: str,
    verdicts: list[tuple[bool, bool]],
    *,
    start: int = 0,
    project: str = "p",
) -> None:
    """(human passed, judge passed) per span; human labels dated one minute apart."""
    rows = []
    for i, (human, judge) in enumerate(verdicts, start=start):
        trace, span = format(i, "032x"), format(i, "016x")
        rows.append(
            ScoreRow(
                project=project,
                trace_id=trace,
                span_id=span,
                name=evaluator,
                kind="llm",
                source=evaluator,
                evaluator_version=version,
                passed=judge,
                label="pass" if judge else "fail",
                created_at=T0,
            )
        )
        rows.append(
            ScoreRow(
                project=project,
                trace_id=trace,
                span_id=span,
                name=evaluator,
                kind="human",
                source="reviewer",
                passed=human,
                label="pass" if human else "fail",
                created_at=T0 + dt.timedelta(minutes=i),
            )
        )
    append_scores(store, rows)


def by_version(store: Store, **kwargs: object) -> dict[str | None, object]:
    return {r.evaluator_version: r for r in calibrate(store, **kwargs)}  # type: ignore[arg-type]


def test_metrics_match_a_hand_count(store: Store) -> None:
    fail, ok = False, True
    pairs(store, "judge", "1", [(fail, fail)] * 4 + [(fail, ok)] + [(ok, ok)] * 4 + [(ok, fail)])
    [report] = calibrate(store)
    assert (report.evaluator, report.evaluator_version, report.labels, report.mode) == (
        "judge",
        "1",
        10,
        "pass/fail",
    )
    assert report.classes == ["fail", "pass"]
    assert report.confusion == [[4, 1], [1, 4]]  # rows: human, columns: judge
    assert report.accuracy == pytest.approx(0.8)
    assert report.kappa == pytest.approx(0.6)  # (0.8 - 0.5) / (1 - 0.5)
    assert (report.precision, report.recall, report.f1) == pytest.approx((0.8, 0.8, 0.8))
    assert report.warnings == [
        "only 10 human label(s): at least 20 are needed to trust these numbers"
    ]
    assert calibrate(store, min_labels=5)[0].warnings == []


def test_a_worse_new_version_and_low_agreement_are_flagged(store: Store) -> None:
    pairs(store, "judge", "1", [(False, False)] * 5 + [(True, True)] * 5)
    pairs(store, "judge", "2", [(False, True)] * 5 + [(True, True)] * 5, start=100)
    reports = by_version(store, min_labels=5)
    first, second = reports["1"], reports["2"]
    assert (first.accuracy, first.kappa, first.warnings) == (1.0, 1.0, [])  # type: ignore[attr-defined]
    assert second.accuracy == 0.5  # type: ignore[attr-defined]
    assert second.recall == 0.0  # type: ignore[attr-defined]
    assert second.warnings == [  # type: ignore[attr-defined]
        "low agreement with people: kappa 0.00 < 0.4",
        "agrees less than version 1: accuracy 0.50 vs 1.00",
    ]


def test_drift_within_a_version(store: Store) -> None:
    steady = [(False, False), (True, True)] * 6
    slipping = [(False, True), (True, True)] * 6
    pairs(store, "judge", "1", steady + slipping)
    [report] = calibrate(store)
    assert report.labels == 24
    assert any("drifts down: accuracy 1.00 on the older half" in w for w in report.warnings)


def test_newest_human_verdict_counts_and_labels_compare_by_name(store: Store) -> None:
    trace, span = "a" * 32, "b" * 16
    append_scores(
        store,
        [
            ScoreRow(
                project="p",
                trace_id=trace,
                span_id=span,
                name="topic",
                kind="llm",
                source="topic",
                label="Billing",
                evaluator_version="3",
                created_at=T0,
            ),
            ScoreRow(
                project="p",
                trace_id=trace,
                span_id=span,
                name="topic",
                kind="human",
                source="reviewer",
                label="shipping",
                created_at=T0,
            ),
            ScoreRow(
                project="p",
                trace_id=trace,
                span_id=span,
                name="topic",
                kind="human",
                source="reviewer",
                label="billing",
                created_at=T0 + dt.timedelta(hours=1),
            ),
            ScoreRow(
                project="p",
                trace_id=trace,
                span_id=span,
                name="other",
                kind="human",
                source="reviewer",
                label="x",
                created_at=T0,
            ),
            ScoreRow(
                project="p",
                trace_id=trace,
                span_id=span,
                name="topic",
                kind="llm",
                source="topic",
                status="errored",
                error="timeout",
                evaluator_version="3",
                created_at=T0 + dt.timedelta(hours=2),
            ),
        ],
    )
    [report] = calibrate(store)
    assert (report.mode, report.labels, report.accuracy, report.classes) == (
        "label",
        1,
        1.0,
        ["billing"],
    )
    assert report.kappa is None  # one class only: kappa is undefined, not a number


def test_filters_and_nothing_to_compare(store: Store) -> None:
    pairs(store, "judge", "1", [(True, True)] * 3, project="a")
    pairs(store, "other", "1", [(True, False)] * 3, start=50, project="b")
    assert [r.evaluator for r in calibrate(store, project="a")] == ["judge"]
    assert [r.evaluator for r in calibrate(store, evaluator="other")] == ["other"]
    assert calibrate(store, evaluator="missing") == []
