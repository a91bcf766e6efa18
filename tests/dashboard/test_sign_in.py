"""Signing in to the dashboard with a project key: the queue shows only the key's project and
records the key's holder as the reviewer (no free-text name)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from streamlit.testing.v1 import AppTest

from loopwise.dashboard.sign_in import KEY_STATE

ReviewCollector = Any
OpenPage = Callable[..., AppTest]


def make_key(url: str, project: str, name: str) -> str:
    """A project admin key, created while the collector is still open (no keys yet)."""
    response = httpx.post(
        f"{url}/api/keys", json={"project": project, "role": "admin", "name": name}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def test_a_project_key_signs_in_and_names_the_reviewer(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    token = make_key(review_collector.url, "review-test", "ana")

    at = open_page("reviews", review_collector.url)
    assert [t.label for t in at.text_input] == ["API key"]  # the collector is closed now
    at.text_input[0].input("lw_000000000000_" + "x" * 43)
    at.button[0].click().run()
    assert "refused" in at.error[0].value

    at.session_state[KEY_STATE] = token
    at.run()
    assert not at.exception
    sidebar = [m.value for m in at.sidebar.markdown]
    assert "Reviewing as **ana**" in sidebar
    assert "Reviewing as" not in [t.label for t in at.text_input]
    assert "Project" not in [t.label for t in at.text_input]
    assert at.selectbox(key="reviews.group").options  # the project's queue is there


def test_another_projects_key_sees_an_empty_queue(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    token = make_key(review_collector.url, "some-other-project", "bo")

    at = open_page("reviews", review_collector.url, api_key=token)

    assert not at.exception
    assert "Reviewing as **bo**" in [m.value for m in at.sidebar.markdown]
    assert [s.value for s in at.success] == ["Nothing to review: every item has been handled."]
