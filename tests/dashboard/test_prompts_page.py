"""The Prompts page, run by Streamlit's AppTest against a real collector: versions and labels
made through the API, a proposal made from a reviewer's correction, adopted only after the
confirmation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from streamlit.testing.v1 import AppTest

ReviewCollector = Any  # tests/dashboard/conftest.py; conftest modules are not importable
OpenPage = Callable[..., AppTest]
PAYLOAD = "<img src=x onerror=alert(1)> **bold**"


def make_prompt(url: str, item_id: str, version: int) -> str:
    """Two versions of ``support`` (v1 labelled production) and one pending proposal on v2
    made from a correction of review item ``item_id``; returns the proposal id."""
    for template, labels in (
        ("Answer {question}.", ["production"]),
        ("Answer {question} " + PAYLOAD, []),
    ):
        body = {"template": template, "actor": "t", "labels": labels}
        httpx.post(f"{url}/api/prompts/support/versions", json=body).raise_for_status()
    httpx.post(
        f"{url}/api/reviews/{item_id}/actions",
        json={
            "action": "correct",
            "actor": "t",
            "expected_version": version,
            "corrected_output": "Refunds take 5 days.",
        },
    ).raise_for_status()
    [correction] = httpx.get(f"{url}/api/reviews/corrections").json()["corrections"]
    body = {"actor": "t", "correction_ids": [correction["correction_id"]], "base_version": 2}
    proposal = httpx.post(f"{url}/api/prompts/support/proposals", json=body)
    proposal.raise_for_status()
    return str(proposal.json()["proposal_id"])


def test_versions_labels_diff_and_adoption_after_confirmation(
    open_page: OpenPage, review_collector: ReviewCollector, markdown_texts: Any
) -> None:
    [item, *_] = review_collector.items()
    proposal_id = make_prompt(review_collector.url, str(item["item_id"]), int(item["version"]))
    at = open_page("prompts", review_collector.url)
    listing, versions = [frame.value for frame in at.dataframe]
    assert list(listing["labels"]) == ["production → v1"]
    assert list(versions["version"]) == [2, 1]
    codes = [c.value for c in at.code]
    assert any(PAYLOAD in code and code.startswith("Answer") for code in codes)  # template
    assert any(code.startswith("--- version 1") and PAYLOAD in code for code in codes)  # diff
    assert any("Refunds take 5 days." in code for code in codes)  # the proposal's diff
    assert not any("<img" in text for text in markdown_texts(at))

    at.button(key=f"prompts.adopt.{proposal_id}").click().run()
    assert [w.value for w in at.warning] == [
        "Adopting makes this proposal the prompt's next version. Are you sure?"
    ]
    versions_now = httpx.get(f"{review_collector.url}/api/prompts/support/versions").json()
    assert len(versions_now["versions"]) == 2  # nothing adopted before the confirmation
    at.button(key=f"prompts.confirm.{proposal_id}").click().run()
    assert [s.value for s in at.success] == ["Adopted as version 3."]
    versions_now = httpx.get(f"{review_collector.url}/api/prompts/support/versions").json()
    assert versions_now["versions"][-1]["proposal_id"] == proposal_id


def test_cancel_adopts_nothing(open_page: OpenPage, review_collector: ReviewCollector) -> None:
    [item, *_] = review_collector.items()
    proposal_id = make_prompt(review_collector.url, str(item["item_id"]), int(item["version"]))
    at = open_page("prompts", review_collector.url)
    at.button(key=f"prompts.adopt.{proposal_id}").click().run()
    at.button(key=f"prompts.cancel.{proposal_id}").click().run()
    assert not at.warning and not at.success
    versions = httpx.get(f"{review_collector.url}/api/prompts/support/versions").json()
    assert len(versions["versions"]) == 2


def test_no_prompts_says_so(open_page: OpenPage, review_collector: ReviewCollector) -> None:
    at = open_page("prompts", review_collector.url)
    [info] = at.info
    assert info.value.startswith("No prompts yet")


def test_unreachable_collector_shows_an_error(open_page: OpenPage, closed_port_url: str) -> None:
    at = open_page("prompts", closed_port_url)
    [error] = at.error
    assert "is not reachable" in error.value
