"""The Review queue page, run by Streamlit's AppTest against a real collector with every
shipped extension, its flags clustered and opened as review items through the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from streamlit.testing.v1 import AppTest

from loopwise.dashboard.review_actions import CONFLICT_NOTE
from loopwise.dashboard.review_queue import current_item, group_items, reviewed_span

ReviewCollector = Any  # tests/dashboard/conftest.py; conftest modules are not importable
OpenPage = Callable[..., AppTest]
REFUSAL = "I cannot help with refunds <b>sorry</b> [x](javascript:alert(1))"


def shown_item(at: AppTest) -> str:
    """The id of the item on screen (its correction box is keyed by it)."""
    [box] = at.text_area
    return str(box.key).rsplit(".", 1)[1]


def test_flagged_items_come_grouped_by_cluster(
    open_page: OpenPage, review_collector: ReviewCollector, markdown_texts: Any
) -> None:
    at = open_page("reviews", review_collector.url)
    options = at.selectbox(key="reviews.group").options
    assert len(options) == 2
    assert options[0].startswith("refusal") and options[0].endswith("(3)")
    assert options[1].startswith("latency") and options[1].endswith("(1)")
    assert "4 open items in 2 groups; flagged clusters first." in [c.value for c in at.caption]
    assert REFUSAL in [c.value for c in at.code]  # the flagged output, verbatim as code
    assert at.text_area[0].value == REFUSAL  # the correction box starts from it
    assert not any("<b>" in text or "javascript" in text for text in markdown_texts(at))
    flags = [frame.value for frame in at.dataframe if "rule" in frame.value.columns]
    assert list(flags[0]["rule"]) == ["refusal"]


def test_a_correction_lands_and_the_next_item_is_shown(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    at = open_page("reviews", review_collector.url)
    first = shown_item(at)
    at.text_area[0].input("Refunds take 5 days; yours is on its way.")
    at.text_input(key=f"reviews.correct_reason.{first}").input("policy allows refunds")
    at.button(key="reviews.correct").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Correction saved. Showing the next item."]
    assert shown_item(at) != first
    detail = review_collector.item(first)
    assert detail["item"]["state"] == "corrected"
    [correction] = detail["corrections"]
    assert correction["corrected_output"] == "Refunds take 5 days; yours is on its way."
    assert len(review_collector.items()) == 3


def test_a_stale_version_is_refused_with_a_clear_message(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    at = open_page("reviews", review_collector.url)
    item_id = shown_item(at)
    version = review_collector.item(item_id)["item"]["version"]
    other = httpx.post(
        f"{review_collector.url}/api/reviews/{item_id}/actions",
        json={
            "action": "reject",
            "actor": "someone else",
            "expected_version": version,
            "comment": "duplicate",
        },
    )
    other.raise_for_status()
    at.button(key="reviews.approve").click().run()
    assert [w.value for w in at.warning] == [CONFLICT_NOTE]
    detail = review_collector.item(item_id)
    assert detail["item"]["state"] == "rejected"  # the other reviewer's decision stands
    assert [e["actor"] for e in detail["events"]][-1] == "someone else"
    assert shown_item(at) != item_id


def test_reject_needs_a_reason_and_changes_nothing_without_one(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    at = open_page("reviews", review_collector.url)
    item_id = shown_item(at)
    at.button(key="reviews.reject").click().run()
    assert [e.value for e in at.error] == ["Say why you reject it: the reason is required."]
    assert review_collector.item(item_id)["item"]["state"] == "open"
    at.text_input(key=f"reviews.reject_reason.{item_id}").input("not reviewable")
    at.button(key="reviews.reject").click().run()
    assert review_collector.item(item_id)["item"]["state"] == "rejected"


def test_bulk_approve_closes_the_whole_cluster(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    at = open_page("reviews", review_collector.url)
    at.button(key="reviews.bulk_approve").click().run()
    assert [s.value for s in at.success] == ["Approved 3 of 3 items."]
    [left] = review_collector.items()
    assert left["reason"] == "slow: 12 s latency"
    assert len(review_collector.items("approved")) == 3
    assert at.selectbox(key="reviews.group").options[0].endswith("(1)")


def test_an_empty_queue_says_so(open_page: OpenPage, seeded_collector: Any) -> None:
    at = open_page("reviews", seeded_collector.url)  # a collector without the feedback API
    assert [i.value for i in at.info] == [
        "The review queue is not available: this collector has no /api/reviews."
    ]


def test_unreachable_collector_shows_an_error(open_page: OpenPage, closed_port_url: str) -> None:
    at = open_page("reviews", closed_port_url)
    [error] = at.error
    assert "is not reachable" in error.value


def test_grouping_orders_clusters_then_unclustered_then_other_sources() -> None:
    items = [
        {"item_id": "m", "source": "manual"},
        {"item_id": "u", "source": "flag", "source_id": "f-none"},
        {"item_id": "a1", "source": "flag", "source_id": "f1"},
        {"item_id": "e", "source": "end_user"},
        {"item_id": "b1", "source": "flag", "source_id": "f2"},
        {"item_id": "b2", "source": "flag", "source_id": "f3"},
    ]
    flags = [
        {"flag_id": "f1", "cluster_id": "A", "cluster_label": "alpha"},
        {"flag_id": "f2", "cluster_id": "B", "cluster_label": "beta"},
        {"flag_id": "f3", "cluster_id": "B", "cluster_label": "beta"},
    ]
    groups = group_items(items, flags)
    assert [g.title for g in groups] == [
        "beta (2)",
        "alpha (1)",
        "Flagged, not in a cluster (1)",
        "End users' thumbs-down (1)",
        "Picked by a person (1)",
    ]
    assert current_item(groups[0], "b2") == items[5]
    assert current_item(groups[0], "gone") == items[4]  # acted on: the next one shows


def test_reviewed_span_falls_back_to_the_root() -> None:
    spans = [{"span_id": "c", "parent_span_id": "r"}, {"span_id": "r", "parent_span_id": None}]
    assert reviewed_span(spans, "c") == spans[0]
    assert reviewed_span(spans, None) == spans[1]
    assert reviewed_span([], "x") is None


def test_choosing_another_item_and_group_shows_it(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    at = open_page("reviews", review_collector.url)
    first = shown_item(at)
    at.selectbox(key="reviews.position").set_value(1).run()
    second = shown_item(at)
    assert second != first
    at.selectbox(key="reviews.group").set_value(1).run()
    assert at.text_area[0].value == "Your parcel arrives tomorrow"  # the latency group's item


def test_a_held_output_comes_first_and_a_correction_releases_it(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    held = httpx.post(
        f"{review_collector.url}/api/reviews/held",
        json={
            "hold_id": "dash-1",
            "project": "review-test",
            "trace_id": "ab" * 16,
            "output": "Your order ORD-99999 ships.",
            "input": "Where is ORD-10001?",
            "check": {
                "passed": False,
                "failed": ["invented_identifiers"],
                "scores": {"invented_identifiers": {"explanation": "ORD-99999 appears nowhere"}},
            },
        },
    )
    assert held.status_code == 201, held.text
    item_id = held.json()["item_id"]

    at = open_page("reviews", review_collector.url)
    assert at.selectbox(key="reviews.group").options[0].startswith("Held by a running workflow")
    assert shown_item(at) == item_id
    assert [w.value for w in at.warning] == ["A running workflow is waiting for this decision."]
    assert "Your order ORD-99999 ships." in [c.value for c in at.code]
    # The invented id is highlighted in place, from the check's own explanation.
    assert "Your order :red-background[**ORD\\-99999**] ships\\." in [m.value for m in at.markdown]
    assert at.text_area[0].value == "Your order ORD-99999 ships."
    at.text_area[0].input("Your order ORD-10001 ships.")
    at.button(key="reviews.correct").click().run()

    decision = httpx.get(f"{review_collector.url}/api/reviews/{item_id}/decision").json()
    assert (decision["action"], decision["output"]) == ("corrected", "Your order ORD-10001 ships.")
