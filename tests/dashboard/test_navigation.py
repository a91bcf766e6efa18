"""The app shell, run by Streamlit's AppTest: every page answers at its own URL path (the
root opens the Overview), and Streamlit's toolbar stays minimal (no Deploy button, no
developer menu)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from loopwise.dashboard import PAGES, TOOLBAR_MODE, app_path, streamlit_command

SeededCollector = Any  # tests/dashboard/conftest.py; conftest modules are not importable
OpenPage = Callable[..., AppTest]


def open_root(monkeypatch: pytest.MonkeyPatch, endpoint: str, **query: str) -> AppTest:
    """Run the app as a browser opening ``/`` (with ``query``) does."""
    monkeypatch.setenv("LOOPWISE_ENDPOINT", endpoint)
    monkeypatch.delenv("LOOPWISE_API_KEY", raising=False)
    at = AppTest.from_file(str(app_path()), default_timeout=30)
    at.query_params.update(query)
    return at.run()


def test_the_root_opens_the_overview(
    monkeypatch: pytest.MonkeyPatch, seeded_collector: SeededCollector
) -> None:
    at = open_root(monkeypatch, seeded_collector.url, project=seeded_collector.PROJECT)
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Overview"]
    assert at.query_params["project"] == seeded_collector.PROJECT  # kept on the way


def test_every_page_has_its_own_url_path(
    monkeypatch: pytest.MonkeyPatch, seeded_collector: SeededCollector
) -> None:
    at = open_root(monkeypatch, seeded_collector.url)
    # What st.navigation registered is what the browser's URL is matched against.
    registered = {info["url_pathname"]: info for info in at._registered_pages.values()}
    for spec in PAGES:
        assert spec.url_path in registered, f"/{spec.url_path} would be 'Page not found'"
        assert registered[spec.url_path]["script_path"].endswith(spec.script)
    assert registered[""]["page_name"] == PAGES[0].title  # the root: the hidden start page


@pytest.mark.parametrize("spec", PAGES, ids=[spec.url_path for spec in PAGES])
def test_each_page_opens_at_its_path(
    open_page: OpenPage, seeded_collector: SeededCollector, spec: Any
) -> None:
    at = open_page(spec.url_path, seeded_collector.url)
    assert spec.title in [t.value for t in at.title]


def test_the_toolbar_is_minimal(
    monkeypatch: pytest.MonkeyPatch, seeded_collector: SeededCollector
) -> None:
    open_root(monkeypatch, seeded_collector.url)
    assert TOOLBAR_MODE == "minimal"
    assert st.get_option("client.toolbarMode") == "minimal"
    command = streamlit_command(app_path(), "127.0.0.1", 8501)
    assert command[command.index("--client.toolbarMode") + 1] == "minimal"
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
