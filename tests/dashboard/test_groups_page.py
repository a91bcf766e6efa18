"""The Sessions and Users pages, run by Streamlit's AppTest against a real, seeded collector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from loopwise.dashboard.groups_page import SESSIONS, USERS, group_frame

SeededCollector = Any  # tests/dashboard/conftest.py; conftest modules are not importable
OpenPage = Callable[..., AppTest]


@pytest.mark.parametrize(
    ("page", "first_column", "value", "link"),
    [
        ("sessions", "session", "session-1", "traces?session=session-1"),
        ("users", "user", "user-1", "traces?user=user-1"),
    ],
)
def test_lists_link_to_the_traces(
    open_page: OpenPage,
    seeded_collector: SeededCollector,
    page: str,
    first_column: str,
    value: str,
    link: str,
) -> None:
    at = open_page(page, seeded_collector.url)
    [table] = [frame.value for frame in at.dataframe]
    assert list(table[first_column]) == [value]
    assert list(table["open"]) == [link]
    assert list(table["traces"]) == [1]
    assert table.iloc[0]["tokens"] == 42
    assert "Page 1 of 1" in [c.value for c in at.caption]


def test_project_without_sessions_says_so(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_page("sessions", seeded_collector.url)
    at.text_input(key="sessions.project").input(seeded_collector.OTHER_PROJECT).run()
    assert not at.dataframe
    assert [i.value for i in at.info] == [
        "No sessions yet: spans carry them as session.id and user.id."
    ]


def test_unreachable_collector_shows_an_error(open_page: OpenPage, closed_port_url: str) -> None:
    at = open_page("users", closed_port_url)
    [error] = at.error
    assert "is not reachable" in error.value


def test_group_frame_keeps_ids_as_text_and_encodes_links() -> None:
    frame = group_frame(
        SESSIONS, [{"session_id": "a&b <x>", "users": ["u1", "u2"], "last_seen": "2026-01-01Z"}]
    )
    row = frame.to_dict("records")[0]
    assert (row["session"], row["users"]) == ("a&b <x>", "u1, u2")
    assert row["open"] == "traces?session=a%26b+%3Cx%3E"
    assert group_frame(USERS, []).columns[0] == "user"
