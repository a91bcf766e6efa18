"""Assignment in the review queue, by Streamlit's AppTest against a real collector: assign
the item on screen to a reviewer (the store's latest event names them), then "Only items
assigned to me" shows exactly the items the API lists for that assignee."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from streamlit.testing.v1 import AppTest

OpenPage = Callable[..., AppTest]
ReviewCollector = Any  # tests/dashboard/conftest.py; conftest modules are not importable
ASSIGNED_SQL = """
SELECT item_id, assignee FROM review_events
QUALIFY row_number() OVER (PARTITION BY item_id ORDER BY version DESC) = 1
"""


def shown_item(at: AppTest) -> str:
    """The id of the item on screen (its correction box is keyed by it)."""
    [box] = at.text_area
    return str(box.key).rsplit(".", 1)[1]


def assigned(url: str) -> dict[str, str]:
    """Each item's current assignee, from the store's latest review events (SQL)."""
    answer = httpx.post(f"{url}/api/sql", json={"sql": ASSIGNED_SQL})
    assert answer.status_code == 200, answer.text
    return {row[0]: row[1] for row in answer.json()["rows"] if row[1]}


def test_assign_and_filter_to_my_items(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    at = open_page("reviews", review_collector.url)
    item_id = shown_item(at)
    at.text_input(key=f"reviews.assignee.{item_id}").input("ana").run()
    at.button(key="reviews.assign").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Assigned to ana."]
    assert shown_item(at) == item_id  # still open: the reviewer stays on it
    assert assigned(review_collector.url) == {item_id: "ana"}
    assert at.text_input(key=f"reviews.assignee.{item_id}").value == "ana"

    at.sidebar.text_input(key="reviews.actor").input("ana").run()
    at.toggle(key="reviews.mine").set_value(True).run()
    assert not at.exception
    assert shown_item(at) == item_id
    assert len(at.selectbox(key="reviews.position").options) == 1
    api = httpx.get(
        f"{review_collector.url}/api/reviews", params={"state": "open", "assignee": "ana"}
    ).json()["items"]
    assert [i["item_id"] for i in api] == [item_id]

    at.sidebar.text_input(key="reviews.actor").input("ben").run()
    assert [s.value for s in at.success] == ["Nothing assigned to ben is open."]
    at.toggle(key="reviews.mine").set_value(False).run()
    assert len(review_collector.items()) > 1 and shown_item(at)
