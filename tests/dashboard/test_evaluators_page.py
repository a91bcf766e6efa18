"""The Evaluators page, run by Streamlit's AppTest against a real collector: a judge's
scores, and its calibration against the verdicts people gave in the review queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from loopwise.dashboard.evaluators_page import confusion_frame, score_summary

ReviewCollector = Any  # tests/dashboard/conftest.py; conftest modules are not importable
OpenPage = Callable[..., AppTest]


def review(url: str, items: list[dict[str, Any]], action: str) -> None:
    """Approve or correct ``items`` through the API (people's verdicts on the judge)."""
    for item in items:
        body: dict[str, Any] = {"action": action, "actor": "t", "expected_version": item["version"]}
        if action == "correct":
            body["corrected_output"] = "Refunds take 5 days."
        httpx.post(f"{url}/api/reviews/{item['item_id']}/actions", json=body).raise_for_status()


def test_distribution_and_calibration(
    open_page: OpenPage, review_collector: ReviewCollector, figures: Any
) -> None:
    refusals = [i for i in review_collector.items() if i["evaluator"] == "refusal"]
    review(review_collector.url, refusals[:2], "approve")  # people disagree with the judge
    review(review_collector.url, refusals[2:], "correct")  # and agree once
    at = open_page("evaluators", review_collector.url)
    summary, confusion = [frame.value for frame in at.dataframe]
    judge = summary[summary["evaluator"] == "refusal"].iloc[0]
    assert (judge["scores"], judge["pass rate"]) == (4, 0.25)
    [figure] = figures(at)
    assert {trace["name"] for trace in figure["data"]} >= {"refusal"}
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Labels"] == "3"
    assert metrics["Accuracy"] == "0.33"
    assert confusion.loc["people: pass", "judge: fail"] == 2
    warnings = [w.value.replace("\\", "") for w in at.warning]  # shown escaped
    assert warnings == [
        "only 3 human label(s): at least 20 are needed to trust these numbers",
        "low agreement with people: kappa 0.00 < 0.4",
    ]


def test_no_labels_yet_says_so(open_page: OpenPage, review_collector: ReviewCollector) -> None:
    at = open_page("evaluators", review_collector.url)
    assert "No judge has human labels to compare with yet" in at.info[0].value


def test_unreachable_collector_shows_an_error(open_page: OpenPage, closed_port_url: str) -> None:
    at = open_page("evaluators", closed_port_url)
    [error] = at.error
    assert "is not reachable" in error.value


def test_summary_and_confusion_tables() -> None:
    scores = [
        {"name": "a", "status": "ok", "value": 1.0, "passed": True},
        {"name": "a", "status": "errored", "value": None, "passed": None},
        {"name": "a", "status": "ok", "value": 0.0, "passed": False},
    ]
    [row] = score_summary(scores).to_dict("records")
    # The mean is over decided scores; the errored one counts against the pass rate.
    assert (row["scores"], row["errored"], row["mean"]) == (2, 1, 0.5)
    assert row["pass rate"] == pytest.approx(1 / 3)
    assert row["better"] == "higher"
    frame = confusion_frame({"classes": ["fail", "pass"], "confusion": [[1, 2], [3, 4]]})
    assert frame.loc["people: pass", "judge: fail"] == 3
