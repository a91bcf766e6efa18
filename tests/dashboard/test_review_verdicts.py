"""Verdicts per evaluator in the review queue, by Streamlit's AppTest against a real collector:
the item offers one not judged / pass / fail choice per evaluator of its queue's rubric (the
evaluators whose flags are on it when none is set); approve and correct store the chosen ones
as human scores, which judge calibration counts; reject refuses them and changes nothing; the
rubric itself is set and cleared from the page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from streamlit.testing.v1 import AppTest

from loopwise.dashboard.render import escape_markdown as md
from loopwise.dashboard.review_actions import REJECT_WITH_VERDICTS, VERDICT_CHOICES

OpenPage = Callable[..., AppTest]
ReviewCollector = Any  # tests/dashboard/conftest.py; conftest modules are not importable
PROJECT = "review-test"
HUMAN_SQL = """
SELECT name, label, passed, author, json_extract_string(metadata, '$.item_id') AS item_id,
       json_extract_string(metadata, '$.action') AS action
FROM scores WHERE kind = 'human' ORDER BY name
"""


def shown_item(at: AppTest) -> str:
    """The id of the item on screen (its correction box is keyed by it)."""
    [box] = at.text_area
    return str(box.key).rsplit(".", 1)[1]


def verdict_choices(at: AppTest, item_id: str) -> dict[str, Any]:
    """The verdict choices on screen for the item, by evaluator name."""
    prefix = f"reviews.verdict.{item_id}."
    return {
        str(radio.key).removeprefix(prefix): radio
        for radio in at.radio
        if str(radio.key).startswith(prefix)
    }


def human_scores(url: str) -> list[dict[str, Any]]:
    """Every human score in the store, through the collector's SQL API."""
    answer = httpx.post(f"{url}/api/sql", json={"sql": HUMAN_SQL})
    assert answer.status_code == 200, answer.text
    payload = answer.json()
    return [dict(zip(payload["columns"], row, strict=True)) for row in payload["rows"]]


def set_rubric(url: str, evaluators: list[str]) -> dict[str, Any]:
    """Set the review queue's rubric through the API."""
    answer = httpx.post(
        f"{url}/api/reviews/rubric",
        json={"project": PROJECT, "actor": "lead", "evaluators": evaluators},
    )
    assert answer.status_code == 200, answer.text
    rubric: dict[str, Any] = answer.json()
    return rubric


def test_without_a_rubric_the_flagging_evaluator_is_judged_and_calibrated(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    at = open_page("reviews", review_collector.url)
    item_id = shown_item(at)
    choices = verdict_choices(at, item_id)
    assert list(choices) == ["refusal"]  # the evaluator whose flag opened the item
    assert tuple(choices["refusal"].options) == VERDICT_CHOICES
    assert choices["refusal"].value == "not judged"
    assert md(
        "No rubric is set for project review-test: the evaluators whose flags are on this item."
    ) in [c.value for c in at.caption]

    choices["refusal"].set_value("fail").run()
    at.button(key="reviews.approve").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [
        "Approved. 1 verdict(s) recorded. Showing the next item."
    ]
    assert review_collector.item(item_id)["item"]["state"] == "approved"
    assert human_scores(review_collector.url) == [
        {
            "name": "refusal",
            "label": "fail",  # given, so it wins over the pass approving implies
            "passed": False,
            "author": "dashboard",
            "item_id": item_id,
            "action": "approve",
        }
    ]
    calibration = httpx.get(
        f"{review_collector.url}/api/calibration", params={"project": PROJECT}
    ).json()
    [report] = calibration["evaluators"]
    assert (report["evaluator"], report["labels"], report["accuracy"]) == ("refusal", 1, 1.0)


def test_a_rubric_offers_its_evaluators_and_a_correction_stores_their_verdicts(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    rubric = set_rubric(review_collector.url, ["helpfulness", "refusal", "tone"])
    assert rubric["version"] == 1
    assert [w.split("'")[1] for w in rubric["warnings"]] == ["helpfulness", "tone"]
    at = open_page("reviews", review_collector.url)
    item_id = shown_item(at)
    choices = verdict_choices(at, item_id)
    assert list(choices) == ["helpfulness", "refusal", "tone"]  # the rubric's order
    assert md("The rubric of project review-test (version 1).") in [c.value for c in at.caption]

    choices["refusal"].set_value("fail").run()
    verdict_choices(at, item_id)["tone"].set_value("pass").run()
    at.text_area[0].input("Refunds take 5 days; yours is on its way.").run()
    at.button(key="reviews.correct").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [
        "Correction saved. 2 verdict(s) recorded. Showing the next item."
    ]
    assert shown_item(at) != item_id
    detail = review_collector.item(item_id)
    assert detail["item"]["state"] == "corrected"
    [correction] = detail["corrections"]
    assert correction["verdicts"] == {"refusal": "fail", "tone": "pass"}
    stored = [(s["name"], s["label"], s["passed"]) for s in human_scores(review_collector.url)]
    assert stored == [("refusal", "fail", False), ("tone", "pass", True)]  # none for helpfulness
    assert all(s["item_id"] == item_id for s in human_scores(review_collector.url))


def test_reject_with_verdicts_is_refused_and_changes_nothing(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    at = open_page("reviews", review_collector.url)
    item_id = shown_item(at)
    verdict_choices(at, item_id)["refusal"].set_value("pass").run()
    at.text_input(key=f"reviews.reject_reason.{item_id}").input("duplicate").run()
    at.button(key="reviews.reject").click().run()
    assert [e.value for e in at.error] == [REJECT_WITH_VERDICTS]
    assert review_collector.item(item_id)["item"]["state"] == "open"
    assert human_scores(review_collector.url) == []

    verdict_choices(at, item_id)["refusal"].set_value("not judged").run()
    at.button(key="reviews.reject").click().run()
    assert review_collector.item(item_id)["item"]["state"] == "rejected"
    assert human_scores(review_collector.url) == []  # a rejection is no verdict


def test_the_rubric_is_set_and_cleared_from_the_page(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    url = review_collector.url
    at = open_page("reviews", url)
    item_id = shown_item(at)
    names = at.text_input(key=f"reviews.rubric.{PROJECT}")
    assert names.value == ""
    assert at.button(key="reviews.rubric_clear").disabled  # nothing set: already the default

    names.input("bad name!").run()
    at.button(key="reviews.rubric_save").click().run()
    [error] = at.error
    assert error.value.startswith(md("The rubric was not saved (HTTP 400): evaluator name"))
    rubric = httpx.get(f"{url}/api/reviews/rubric", params={"project": PROJECT}).json()
    assert (rubric["version"], rubric["set"]) == (0, False)  # nothing changed

    at.text_input(key=f"reviews.rubric.{PROJECT}").input("refusal, helpfulness").run()
    at.button(key="reviews.rubric_save").click().run()
    assert not at.exception
    [saved] = at.success
    assert saved.value.startswith(md("Rubric of project review-test saved: refusal, helpfulness."))
    rubric = httpx.get(f"{url}/api/reviews/rubric", params={"project": PROJECT}).json()
    assert (rubric["version"], rubric["evaluators"], rubric["set_by"]) == (
        1,
        ["refusal", "helpfulness"],
        "dashboard",
    )
    assert shown_item(at) == item_id  # the reviewer stays on the item
    assert list(verdict_choices(at, item_id)) == ["refusal", "helpfulness"]
    assert at.text_input(key=f"reviews.rubric.{PROJECT}").value == "refusal, helpfulness"

    at.button(key="reviews.rubric_clear").click().run()
    assert [s.value for s in at.success] == [
        md("Project review-test is back to the default rubric.")
    ]
    rubric = httpx.get(f"{url}/api/reviews/rubric", params={"project": PROJECT}).json()
    assert (rubric["version"], rubric["set"], len(rubric["history"])) == (2, False, 2)
    assert list(verdict_choices(at, item_id)) == ["refusal"]


def test_an_item_no_evaluator_flagged_offers_nothing_to_judge(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    at = open_page("reviews", review_collector.url)
    at.selectbox(key="reviews.group").select_index(1).run()  # the latency flag: no evaluator
    item_id = shown_item(at)
    assert verdict_choices(at, item_id) == {}
    assert "Nothing to judge here: no rubric and no flags name an evaluator." in [
        c.value for c in at.caption
    ]
    at.button(key="reviews.approve").click().run()
    assert review_collector.item(item_id)["item"]["state"] == "approved"
    assert human_scores(review_collector.url) == []
