"""The Datasets page, run by Streamlit's AppTest against a real collector whose datasets were
made through its API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from streamlit.testing.v1 import AppTest

from loopwise.dashboard.datasets_page import EXAMPLES_PER_PAGE, cell, page_of

ReviewCollector = Any  # tests/dashboard/conftest.py; conftest modules are not importable
OpenPage = Callable[..., AppTest]
PAYLOAD = "<script>alert(1)</script> **bold**"


def make_dataset(url: str) -> None:
    """Version 1 with 30 examples, version 2 drops one and adds a payload."""
    examples = [{"input": f"question {n}", "expected": f"answer {n}"} for n in range(30)]
    created = httpx.post(
        f"{url}/api/datasets", json={"name": "support", "actor": "test", "examples": examples}
    )
    created.raise_for_status()
    [first] = [
        e
        for e in httpx.get(f"{url}/api/datasets/support").json()["examples"]
        if e["input"] == "question 0"
    ]
    change = httpx.post(
        f"{url}/api/datasets/support/versions",
        json={
            "actor": "test",
            "remove": [first["example_id"]],
            "message": "payload",
            "examples": [{"input": PAYLOAD, "expected": "refuse"}],
        },
    )
    change.raise_for_status()


def test_versions_examples_and_diff(
    open_page: OpenPage, review_collector: ReviewCollector, markdown_texts: Any
) -> None:
    make_dataset(review_collector.url)
    at = open_page("datasets", review_collector.url)
    listing, versions, examples, *diffs = [frame.value for frame in at.dataframe]
    assert list(listing["dataset"]) == ["support"]
    assert list(versions["version"]) == [1, 2]
    assert len(examples) == EXAMPLES_PER_PAGE
    assert "30 examples · page 1 of 2" in [c.value for c in at.caption]
    at.number_input(key="datasets.page.support.2").set_value(2).run()
    page_two = [frame.value for frame in at.dataframe][2]
    assert len(page_two) == 5 and PAYLOAD in list(page_two["input"])
    assert "1 added · 1 removed · 0 changed · 29 unchanged" in [c.value for c in at.caption]
    added, removed = diffs
    assert list(added["input"]) == [PAYLOAD] and list(removed["input"]) == ["question 0"]
    assert not any("<script>" in text for text in markdown_texts(at))


def test_no_datasets_says_so(open_page: OpenPage, review_collector: ReviewCollector) -> None:
    at = open_page("datasets", review_collector.url)
    [info] = at.info
    assert info.value.startswith("No datasets yet")


def test_unreachable_collector_shows_an_error(open_page: OpenPage, closed_port_url: str) -> None:
    at = open_page("datasets", closed_port_url)
    [error] = at.error
    assert "is not reachable" in error.value


def test_cells_and_pages() -> None:
    assert cell({"q": "a\nb"}) == "q: a b"  # readable, not escaped JSON
    assert cell({"ticket": {"id": 7}, "tags": ["vip"]}) == 'ticket: {"id": 7} · tags: ["vip"]'
    messages = [
        {"role": "user", "content": "Where is ORD-1?"},
        {"role": "assistant", "content": "Shipped"},
    ]
    assert cell(messages) == "user: Where is ORD-1? · assistant: Shipped"
    assert cell([1, 2]) == "[1, 2]" and cell({}) == "{}" and cell(3) == "3"
    assert cell(None) == "" and len(cell("x" * 1000)) == 300
    assert page_of(list(range(30)), 2) == list(range(25, 30))
    assert page_of(list(range(30)), 9) == list(range(25, 30))
    assert page_of([], 1) == []
