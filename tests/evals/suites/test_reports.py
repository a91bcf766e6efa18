"""Reports render every outcome truthfully: JUnit cases, Markdown tables, JSON."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from loopwise.evals.suites.reports import to_json, to_junit, to_markdown
from loopwise.evals.suites.results import (
    BaselineComparison,
    EvaluatorSummary,
    ExampleChange,
    ExampleResult,
    RunReport,
    ScoreOutcome,
    ThresholdOutcome,
)
from loopwise.evals.suites.stats import Interval, compare_paired


def make_report() -> RunReport:
    examples = [
        ExampleResult(
            "t1",
            0,
            "refund?",
            "yes",
            "yes",
            trace_id="a" * 32,
            scores={"exact": ScoreOutcome(value=1.0, passed=True)},
        ),
        ExampleResult(
            "t2",
            0,
            "where is <b>it</b>?",
            "soon",
            "never",
            scores={"exact": ScoreOutcome(value=0.0, passed=False, explanation="differs")},
        ),
        ExampleResult(
            "t3",
            0,
            "x",
            "y",
            None,
            error="ValueError: boom",
            scores={"exact": ScoreOutcome(errored=True, error="no output")},
        ),
        ExampleResult(
            "t4",
            0,
            "z",
            "z",
            "z",
            scores={"judge": ScoreOutcome(errored=True, error="judge unreachable")},
        ),
    ]
    paired = compare_paired({"t1": [1.0], "t2": [0.0]}, {"t1": [1.0], "t2": [1.0]})
    return RunReport(
        run_id="run-2",
        suite="triage | core",
        dataset="support_tickets@3",
        started_at="2026-11-25T10:00:00Z",
        finished_at="2026-11-25T10:01:00Z",
        passed=False,
        examples=examples,
        summaries=[
            EvaluatorSummary(
                "exact", "1", Interval(0.5, 0.0, 1.0, 2), Interval(0.33, 0.0, 1.0, 3), 2, 1
            )
        ],
        thresholds=[
            ThresholdOutcome(
                "exact pass rate >= 0.9", "exact", False, "0.33 [0.00, 1.00]", "too low"
            ),
            ThresholdOutcome("no significant regression in exact", "exact", True, "p=0.5", "ok"),
        ],
        comparison=BaselineComparison(
            "run-1",
            {"exact": paired},
            newly_failing=[ExampleChange("t2", "exact", 1.0, 0.0)],
            newly_passing=[],
        ),
        context={"git_commit": "abc123", "model": None},
    )


def test_junit_has_one_case_per_example_and_evaluator_plus_thresholds() -> None:
    root = ET.fromstring(to_junit(make_report()))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "t1",
        "t2",
        "t3",
        "t4",
        "exact pass rate >= 0.9",
        "no significant regression in exact",
    ]
    by_name = {c.get("name"): c for c in cases}
    assert by_name["t1"].find("failure") is None and by_name["t1"].find("error") is None
    assert "a" * 32 in (by_name["t1"].findtext("system-out") or "")
    assert by_name["t2"].find("failure") is not None
    assert "ValueError: boom" in (by_name["t3"].findtext("error") or "")
    assert "judge unreachable" in (by_name["t4"].findtext("error") or "")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("6", "2", "2")


def test_markdown_escapes_untrusted_text_and_lists_regressions() -> None:
    markdown = to_markdown(make_report())
    assert "❌ failed" in markdown
    assert "triage \\| core" in markdown
    assert "<b>" not in markdown
    assert "Newly failing: 1" in markdown and "`t2`" in markdown
    assert "1 target error(s)" in markdown
    assert "git_commit `abc123`" in markdown and "model" not in markdown.split("\n")[2]


def test_json_round_trips() -> None:
    data = json.loads(to_json(make_report()))
    assert data["passed"] is False
    assert data["examples"][1]["scores"]["exact"]["passed"] is False
    assert data["comparison"]["paired"]["exact"]["worsened"] == 1
