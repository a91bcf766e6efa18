"""Agreement between reviewers: outputs two people gave verdicts on, Cohen's kappa of the
first reviewer against the second, computed by hand here; and the same numbers reached by
two reviewers working through the review API and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from loopwise.cli import app
from loopwise.collector.store import ScoreRow, Store, append_scores
from loopwise.feedback import LocalBackend
from loopwise.feedback.agreement import reviewer_agreement

T0 = dt.datetime(2026, 1, 1)


def verdict(i: int, author: str, passed: bool, minutes: int, name: str = "judge") -> ScoreRow:
    """One reviewer's pass/fail verdict on span ``i``."""
    return ScoreRow(
        project="p",
        trace_id=format(i, "032x"),
        span_id=format(i, "016x"),
        name=name,
        kind="human",
        source="reviewer",
        passed=passed,
        value=float(passed),
        label="pass" if passed else "fail",
        author=author,
        created_at=T0 + dt.timedelta(minutes=minutes),
    )


def test_kappa_matches_a_hand_count(tmp_path: Path) -> None:
    # 10 outputs reviewed by ana then bo: both pass 4, both fail 3, ana pass / bo fail 2,
    # ana fail / bo pass 1. Observed agreement 0.7; ana passes 0.6, bo 0.5, so chance
    # agreement 0.6*0.5 + 0.4*0.5 = 0.5 and kappa (0.7 - 0.5) / (1 - 0.5) = 0.4.
    pattern = [(True, True)] * 4 + [(False, False)] * 3 + [(True, False)] * 2 + [(False, True)]
    rows = []
    for i, (ana, bo) in enumerate(pattern):
        rows += [verdict(i, "ana", ana, i), verdict(i, "bo", bo, 100 + i)]
    rows.append(verdict(0, "ana", False, 1))  # ana changed her mind: her newest verdict counts
    rows.append(verdict(0, "cy", False, 200))  # a third reviewer is not a rater of the pair
    rows.append(verdict(50, "ana", True, 5))  # reviewed once: not a pair
    with Store(tmp_path / "a.duckdb") as store:
        append_scores(store, rows)
        [report] = reviewer_agreement(store, min_pairs=5)
    # span 0 became (fail, pass): both pass 3, both fail 3, ana pass/bo fail 2, ana fail/bo
    # pass 2. Observed 0.6; ana passes 0.5, bo 0.5: chance 0.5, kappa 0.2.
    assert (report.evaluator, report.pairs, report.mode) == ("judge", 10, "pass/fail")
    assert report.agreement == 0.6
    assert abs(report.kappa - 0.2) < 1e-9  # type: ignore[operator]
    assert any("reviewers disagree" in w for w in report.warnings)


def test_two_reviewers_through_the_review_api_and_the_cli(db_path: Path, spans: Any) -> None:
    items = []
    with LocalBackend(db_path) as backend:
        for trace_id, span_id in ((spans.trace1, spans.answer1), (spans.trace2, spans.answer2)):
            item = backend.call(
                "POST",
                "/api/reviews",
                body={"trace_id": trace_id, "span_id": span_id, "actor": "ana"},
            )
            items.append(item)
        for item, (first, second) in zip(items, (("pass", "pass"), ("pass", "fail")), strict=True):
            path = f"/api/reviews/{item['item_id']}/actions"
            done = backend.call(
                "POST",
                path,
                body={
                    "action": "approve",
                    "actor": "ana",
                    "expected_version": item["version"],
                    "verdicts": {"tone": first},
                },
            )
            reopened = backend.call(
                "POST",
                path,
                body={"action": "reopen", "actor": "bo", "expected_version": done["version"]},
            )
            backend.call(
                "POST",
                path,
                body={
                    "action": "approve",
                    "actor": "bo",
                    "expected_version": reopened["version"],
                    "verdicts": {"tone": second},
                },
            )
        answer = backend.call("GET", "/api/calibration", query={"evaluator": "tone"})
    [report] = answer["reviewers"]
    assert (report["evaluator"], report["pairs"], report["agreement"]) == ("tone", 2, 0.5)

    result = CliRunner().invoke(app, ["calibrate", "--db", str(db_path), "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["reviewers"][0]["pairs"] == 2
    table = CliRunner().invoke(app, ["calibrate", "--db", str(db_path)])
    assert "agreement between reviewers" in table.stdout
