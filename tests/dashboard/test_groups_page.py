"""The Sessions and Users pages, run by Streamlit's AppTest against a real, seeded collector."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import loopwise
from loopwise.collector.sdk import SequentialIdGenerator, TickingClock
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.dashboard.groups_page import SESSIONS, USERS, group_frame
from loopwise.dashboard.render import page_caption, page_count

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
    assert f"Page 1 of 1 · 1 {page}" in [c.value for c in at.caption]


@pytest.fixture(scope="module")
def many_sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A collector holding 37 sessions of one trace each, sent over OTLP."""
    tmp = tmp_path_factory.mktemp("sessions")
    with CollectorServer(CollectorConfig(db_path=tmp / "s.duckdb", port=0)) as server:
        client = loopwise.Client()
        client.init(
            "pager",
            endpoint=server.url,
            batch=False,
            set_global=False,
            spool_dir=tmp / "spool",
            id_generator=SequentialIdGenerator(),
            clock=TickingClock(),
        )
        for number in range(37):
            with client.span("turn", kind="chain") as span:
                span.set_session(f"s-{number:02d}")
                span.set_output("ok")
        client.flush()
        client.shutdown()
        yield server.url


def test_page_count_is_pages_not_rows(open_page: OpenPage, many_sessions: str) -> None:
    at = open_page("sessions", many_sessions)
    assert at.selectbox(key="sessions.page_size").value == 25
    assert len(at.dataframe[0].value) == 25
    assert "Page 1 of 2 · 37 sessions" in [c.value for c in at.caption]
    at.button(key="sessions.next").click().run()
    assert len(at.dataframe[0].value) == 12
    assert "Page 2 of 2 · 37 sessions" in [c.value for c in at.caption]
    assert at.button(key="sessions.next").disabled


@pytest.mark.parametrize(
    ("total", "size", "pages"),
    [
        (0, 25, 1),
        (1, 25, 1),
        (25, 25, 1),
        (26, 25, 2),
        (37, 25, 2),
        (50, 25, 2),
        (51, 25, 3),
        (37, 1, 37),
    ],
)
def test_page_count_arithmetic(total: int, size: int, pages: int) -> None:
    assert page_count(total, size) == pages
    assert page_caption(1, size, total, "rows") == f"Page 1 of {pages} · {total} rows"


def test_page_count_refuses_an_empty_page() -> None:
    with pytest.raises(ValueError, match="page size"):
        page_count(3, 0)


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
