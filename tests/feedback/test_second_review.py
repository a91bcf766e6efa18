"""Second reviews: a sample of items one reviewer closed goes back to another reviewer, so
the agreement between the two can be measured; through the review API, the library and the
CLI, with the choice of items checked against the review history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from loopwise.cli import app
from loopwise.collector.store import Store
from loopwise.feedback import FeedbackError, LocalBackend, item_history
from loopwise.feedback.agreement import reviewer_agreement


def _close(backend: LocalBackend, span: tuple[str, str], actor: str, action: str) -> str:
    trace_id, span_id = span
    item = backend.call(
        "POST", "/api/reviews", body={"trace_id": trace_id, "span_id": span_id, "actor": actor}
    )
    body: dict[str, Any] = {"action": action, "actor": actor, "expected_version": item["version"]}
    if action == "approve":
        body["verdicts"] = {"tone": "pass"}
    if action == "correct":
        body["corrected_output"] = "Your order ships tomorrow."
        body["verdicts"] = {"tone": "fail"}
    backend.call("POST", f"/api/reviews/{item['item_id']}/actions", body=body)
    return str(item["item_id"])


@pytest.fixture
def closed(db_path: Path, spans: Any) -> dict[str, str]:
    """ana approved one answer and corrected the other, rejected a triage span; bo approved
    the other triage span."""
    with LocalBackend(db_path) as backend:
        return {
            "approved": _close(backend, (spans.trace1, spans.answer1), "ana", "approve"),
            "corrected": _close(backend, (spans.trace2, spans.answer2), "ana", "correct"),
            "rejected": _close(backend, (spans.trace1, spans.root1), "ana", "reject"),
            "bo_approved": _close(backend, (spans.trace2, spans.root2), "bo", "approve"),
        }


def test_items_closed_by_someone_else_are_reopened_and_assigned(
    db_path: Path, closed: dict[str, str]
) -> None:
    with LocalBackend(db_path) as backend:
        sent = backend.call(
            "POST", "/api/reviews/second-reviews", body={"reviewer": "bo", "actor": "lead"}
        )
        assert sorted(sent["item_ids"]) == sorted([closed["approved"], closed["corrected"]])
        assert sent["skipped"] == []
        queue = backend.call("GET", "/api/reviews", query={"assignee": "bo", "state": "open"})
        assert sorted(i["item_id"] for i in queue["items"]) == sorted(sent["item_ids"])
        again = backend.call(
            "POST", "/api/reviews/second-reviews", body={"reviewer": "bo", "actor": "lead"}
        )
        assert again["item_ids"] == []  # already waiting for bo: not sent twice
    with Store(db_path) as store:
        history = item_history(store, closed["approved"])
    assert [e.action for e in history[-2:]] == ["reopen", "assign"]
    assert history[-2].comment is not None and "second review" in history[-2].comment
    assert (history[-1].assignee, history[-1].actor) == ("bo", "lead")


def test_an_item_judged_by_two_people_is_not_sent_again_and_their_agreement_shows(
    db_path: Path, closed: dict[str, str]
) -> None:
    with LocalBackend(db_path) as backend:
        backend.call("POST", "/api/reviews/second-reviews", body={"reviewer": "bo", "actor": "ana"})
        for key, verdict in (("approved", "fail"), ("corrected", "fail")):
            item = backend.call("GET", f"/api/reviews/{closed[key]}")["item"]
            backend.call(
                "POST",
                f"/api/reviews/{closed[key]}/actions",
                body={
                    "action": "approve",
                    "actor": "bo",
                    "expected_version": item["version"],
                    "verdicts": {"tone": verdict},
                },
            )
        third = backend.call(
            "POST", "/api/reviews/second-reviews", body={"reviewer": "cy", "actor": "ana"}
        )
    # Only bo's own single-reviewer item is left for cy: the two answers have two reviewers.
    assert third["item_ids"] == [closed["bo_approved"]]
    with Store(db_path) as store:
        [report] = reviewer_agreement(store, evaluator="tone", min_pairs=1)
    # ana said pass then fail; bo said fail on both: one agreement in two.
    assert (report.pairs, report.agreement) == (2, 0.5)


def test_a_sample_is_repeatable_and_a_larger_one_contains_it(
    db_path: Path, closed: dict[str, str]
) -> None:
    from loopwise.feedback.second_review import CANDIDATES_SQL

    params = {"reviewer": "cy", "project": None, "evaluator": None, "seed": "s1", "limit": 1}
    with Store(db_path) as store:
        one = store.query(CANDIDATES_SQL, params).records()
        again = store.query(CANDIDATES_SQL, params).records()
        three = store.query(CANDIDATES_SQL, {**params, "limit": 3}).records()
    assert one == again
    assert one[0]["item_id"] in {row["item_id"] for row in three}
    assert closed["rejected"] not in {row["item_id"] for row in three}  # no verdict to compare


def test_bad_requests_are_refused_and_change_nothing(db_path: Path, closed: dict[str, str]) -> None:
    with LocalBackend(db_path) as backend:
        for body, message in (
            ({"reviewer": " ", "actor": "ana"}, "reviewer is required"),
            ({"reviewer": "bo", "actor": ""}, "actor is required"),
            ({"reviewer": "bo", "actor": "ana", "count": 0}, "count"),
            ({"reviewer": "bo", "actor": "ana", "count": "5"}, "count"),
        ):
            with pytest.raises(FeedbackError, match=message):
                backend.call("POST", "/api/reviews/second-reviews", body=body)
        assert backend.call("GET", "/api/reviews", query={"state": "open"})["items"] == []


def test_the_cli_sends_a_sample_to_a_second_reviewer(db_path: Path, closed: dict[str, str]) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["review", "second", "cy", "--count", "1", "--db", str(db_path), "--actor", "lead"]
    )
    assert result.exit_code == 0, result.output
    assert "sent 1 items to cy for a second review" in result.stdout
    listed = runner.invoke(
        app, ["review", "list", "--db", str(db_path), "--assignee", "cy", "-f", "json"]
    )
    assert listed.exit_code == 0, listed.output
    [item] = json.loads(listed.stdout)
    assert item["state"] == "open" and item["item_id"] in result.stdout
