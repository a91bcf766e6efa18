"""The review queue by keyboard, on a queue that holds still: previous / skip / next and the
decisions have keys, progress says where the reviewer is, and the grouping taken when the
queue was loaded stays until the reviewer regroups (arrivals wait at the end)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from streamlit.testing.v1 import AppTest

from loopwise.dashboard.review_queue import (
    NEW_SINCE,
    QueueGroup,
    apply_snapshot,
    skipped_last,
    take_snapshot,
)

ReviewCollector = Any
OpenPage = Callable[..., AppTest]


def shown_item(at: AppTest) -> str:
    [box] = at.text_area
    return str(box.key).rsplit(".", 1)[1]


def progress(at: AppTest) -> str:
    return next(c.value for c in at.caption if str(c.value).startswith("Item "))


def test_every_decision_and_move_has_a_key(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    at = open_page("reviews", review_collector.url)
    keys = {b.key: b.proto.shortcut for b in at.button if b.proto.shortcut}
    assert keys == {
        "reviews.approve": "a",
        "reviews.reject": "x",
        "reviews.correct": "alt+enter",
        "reviews.skip": "s",
        "reviews.next": "j",
        "reviews.previous": "k",
    }
    assert progress(at).startswith(
        "Item 1 of 3 in this group · 0 of 4 decided in this queue. Keys: A approve"
    )


def test_next_previous_and_skip_walk_the_group(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    at = open_page("reviews", review_collector.url)
    first = shown_item(at)
    assert at.button(key="reviews.previous").disabled
    at.button(key="reviews.next").click().run()
    second = shown_item(at)
    assert second != first and progress(at).startswith("Item 2 of 3")
    at.button(key="reviews.previous").click().run()
    assert shown_item(at) == first
    at.button(key="reviews.skip").click().run()  # the first goes to the end of the group
    assert shown_item(at) == second and progress(at).startswith("Item 1 of 3")
    at.button(key="reviews.next").click().run()
    at.button(key="reviews.next").click().run()
    assert shown_item(at) == first and progress(at).startswith("Item 3 of 3")
    assert at.button(key="reviews.next").disabled
    assert review_collector.item(first)["item"]["state"] == "open"  # skipping decides nothing


def test_the_queue_holds_still_until_the_reviewer_regroups(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    at = open_page("reviews", review_collector.url)
    before = at.selectbox(key="reviews.group").options
    # A reviewer elsewhere picks another span while this one works.
    trace = review_collector.slow_trace
    picked = httpx.post(
        f"{review_collector.url}/api/reviews",
        json={"trace_id": trace, "actor": "bo", "reason": "looks odd"},
    )
    assert picked.status_code == 201, picked.text
    at.button(key="reviews.approve").click().run()  # acting reloads the queue
    after = at.selectbox(key="reviews.group").options
    assert after[0] == before[0].replace("(3)", "(2)")  # the acted item left its group
    assert after[1] == before[1]
    assert after[2] == "New since the queue was loaded (regroup to sort them in) (1)"
    assert any("1 item(s) arrived since the queue was loaded" in i.value for i in at.info)
    at.button(key="reviews.regroup").click().run()
    regrouped = at.selectbox(key="reviews.group").options
    assert not any(o.startswith("New since") for o in regrouped)
    assert "Picked by a person (1)" in regrouped


def test_snapshots_keep_places_and_put_arrivals_last() -> None:
    a, b, c = ({"item_id": x, "source": "flag"} for x in "abc")
    held = {"item_id": "h", "source": "held"}
    fresh = {"item_id": "n", "source": "manual"}
    snapshot = take_snapshot(
        [QueueGroup("cluster:1", "one", [a, b], True), QueueGroup("cluster:2", "two", [c], True)]
    )
    groups = apply_snapshot(snapshot, [fresh, c, held, b])  # a was acted on
    assert [(g.key, [i["item_id"] for i in g.items]) for g in groups] == [
        ("held", ["h"]),  # a held output never waits at the end
        ("cluster:1", ["b"]),
        ("cluster:2", ["c"]),
        (NEW_SINCE, ["n"]),
    ]
    group = QueueGroup("g", "g", [a, b, c], True)
    assert [i["item_id"] for i in skipped_last(group, ["a"]).items] == ["b", "c", "a"]
