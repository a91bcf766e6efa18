"""The Runs page, run by Streamlit's AppTest against a real collector holding two suite
runs recorded through /api/eval-runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from streamlit.testing.v1 import AppTest

from loopwise.dashboard.runs_page import example_changes

ReviewCollector = Any  # tests/dashboard/conftest.py; conftest modules are not importable
OpenPage = Callable[..., AppTest]
PAYLOAD = "<script>alert(1)</script>"


def report(run_id: str, started: str, verdicts: dict[str, bool], rate: float) -> dict[str, Any]:
    """A suite run report with one evaluator, ``correct``, and one example per verdict."""
    interval = {"estimate": rate, "low": 0.0, "high": 1.0, "n": len(verdicts)}
    return {
        "run_id": run_id,
        "suite": "support",
        "dataset": "support@1",
        "passed": rate > 0.5,
        "started_at": started,
        "finished_at": started,
        "examples": [
            {
                "example_id": eid,
                "repetition": 0,
                "input": f"{eid} {PAYLOAD}",
                "expected": "yes",
                "output": f"out {run_id}",
                "scores": {"correct": {"passed": ok, "value": float(ok)}},
            }
            for eid, ok in verdicts.items()
        ],
        "summaries": [
            {
                "name": "correct",
                "version": None,
                "mean": interval,
                "pass_rate": interval,
                "scored": len(verdicts),
                "errored": 0,
            }
        ],
        "thresholds": [],
    }


def test_two_runs_side_by_side_with_regressions(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    runs = [
        report("run-a", "2026-01-01T00:00:00Z", {"e1": True, "e2": True, "e3": False}, 2 / 3),
        report("run-b", "2026-01-02T00:00:00Z", {"e1": False, "e2": True, "e3": True}, 2 / 3),
    ]
    for run in runs:
        httpx.post(f"{review_collector.url}/api/eval-runs", json=run).raise_for_status()
    at = open_page("runs", review_collector.url)
    listing, side, changes = [frame.value for frame in at.dataframe]
    assert list(listing["run_id"]) == ["run-b", "run-a"]
    assert list(side["evaluator"]) == ["correct"]
    assert list(changes["change"]) == ["regressed", "improved"]
    assert list(changes["example"]) == ["e1", "e3"]
    assert changes.iloc[0]["input"] == f"e1 {PAYLOAD}"  # as text in a table
    assert "1 regressed · 1 improved" in [c.value for c in at.caption]


def test_no_runs_says_so(open_page: OpenPage, review_collector: ReviewCollector) -> None:
    at = open_page("runs", review_collector.url)
    [info] = at.info
    assert info.value.startswith("No runs yet")


def test_unreachable_collector_shows_an_error(open_page: OpenPage, closed_port_url: str) -> None:
    at = open_page("runs", closed_port_url)
    [error] = at.error
    assert "is not reachable" in error.value


def test_repetitions_are_averaged() -> None:
    def run(*verdicts: bool) -> dict[str, Any]:
        return {"examples": [{"example_id": "x", "scores": {"c": {"passed": v}}} for v in verdicts]}

    changes = example_changes(run(True, True), run(True, False))
    assert list(changes["pass rate B"]) == [0.5]
    assert example_changes(run(True), run(True)).empty
