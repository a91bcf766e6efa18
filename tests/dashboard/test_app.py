"""The Streamlit Traces page, run by AppTest against a real, seeded collector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from loopwise.dashboard import app_path

SeededCollector = Any  # tests/dashboard/conftest.py; conftest modules are not importable
KeyedCollector = Any
OpenPage = Callable[..., AppTest]

SELECTED = "traces.selected"
PAGE_SIZE = "traces.page_size"
PROJECT = "traces.project"
NEXT = "traces.next"
PREVIOUS = "traces.previous"
SHOW_RAW = "traces.show_raw"


@pytest.fixture
def open_page(monkeypatch: pytest.MonkeyPatch) -> OpenPage:
    """Run the dashboard against ``endpoint`` (and ``api_key``) and return the AppTest."""

    def open_(endpoint: str, api_key: str | None = None) -> AppTest:
        monkeypatch.setenv("LOOPWISE_ENDPOINT", endpoint)
        if api_key:
            monkeypatch.setenv("LOOPWISE_API_KEY", api_key)
        else:
            monkeypatch.delenv("LOOPWISE_API_KEY", raising=False)
        at = AppTest.from_file(str(app_path()), default_timeout=30).run()
        assert not at.exception
        return at

    return open_


def root_names(at: AppTest) -> list[str]:
    """The root names in the traces table, top to bottom."""
    return list(at.dataframe[0].value["root name"])


def markdown_rendered(at: AppTest) -> list[str]:
    """Every string the page handed to a Markdown-rendering element or label."""
    texts: list[str] = []
    for elements in (at.markdown, at.caption, at.title, at.header, at.subheader):
        texts += [str(e.value) for e in elements]
    for alerts in (at.error, at.warning, at.info, at.success):
        texts += [str(e.value) for e in alerts]
    texts += [e.label for e in at.expander]
    for widgets in (at.selectbox, at.text_input, at.button, at.toggle):
        texts += [w.label for w in widgets]
    return texts


def test_page_lists_the_seeded_traces_newest_first(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_page(seeded_collector.url)
    assert [t.value for t in at.title] == ["Traces"]
    assert any("ok" in c.value and "version" in c.value for c in at.caption)
    assert root_names(at) == list(reversed(seeded_collector.root_names))
    table = at.dataframe[0].value
    expected = ["start time (UTC)", "root name", "duration (ms)", "spans", "errors", "tokens"]
    assert list(table.columns[: len(expected)]) == expected
    assert {"cost (USD)", "session", "user"} <= set(table.columns)
    row = table[table["root name"] == "root"].iloc[0]
    assert (row["spans"], row["tokens"], row["session"], row["user"]) == (
        4,
        42,
        "session-1",
        "user-1",
    )
    assert table[table["root name"] == "error-trace"].iloc[0]["errors"] == 1
    assert not table["start time (UTC)"].isna().any()


def test_no_trace_is_fetched_until_one_is_chosen(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_page(seeded_collector.url)
    assert at.selectbox(key=SELECTED).value is None
    assert len(at.dataframe) == 1
    assert not at.code


def test_choosing_a_trace_shows_its_span_tree_and_raw_content_as_text(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_page(seeded_collector.url)
    at.selectbox(key=SELECTED).set_value(seeded_collector.untrusted_trace_id).run()
    assert not at.exception
    spans = at.dataframe[1].value
    assert list(spans["span"]) == [
        "root",
        "└─ " + seeded_collector.MARKDOWN_SPAN_NAME,
        "└─ answer",
        "   └─ lookup",
    ]
    answer = spans[spans["span"] == "└─ answer"].iloc[0]
    assert (answer["kind"], answer["status"], answer["model"], answer["tokens"]) == (
        "llm",
        "ok",
        "gpt-test",
        42,
    )
    code = [c.value for c in at.code]
    for raw in (seeded_collector.SCRIPT, seeded_collector.IMG, seeded_collector.LINK):
        assert raw in code
    assert any(seeded_collector.BOLD in c for c in code)
    assert any(t.value.startswith(seeded_collector.MARKDOWN_SPAN_NAME) for t in at.text)


def test_untrusted_strings_never_reach_markdown(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_page(seeded_collector.url)
    at.selectbox(key=SELECTED).set_value(seeded_collector.untrusted_trace_id).run()
    at.toggle(key=SHOW_RAW).set_value(True).run()
    assert not at.exception
    assert any(c.value.count(seeded_collector.SCRIPT) for c in at.code)  # attributes shown
    rendered = markdown_rendered(at)
    assert len(at.expander) == 4
    for untrusted in seeded_collector.UNTRUSTED_STRINGS:
        assert not [text for text in rendered if untrusted in text]
    for fragment in ("<script", "<img", "](javascript", "**"):
        assert not [text for text in rendered if fragment in text]


def test_error_span_shows_its_status_message(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_page(seeded_collector.url)
    at.selectbox(key=SELECTED).set_value(seeded_collector.error_trace_id).run()
    spans = at.dataframe[1].value
    assert list(spans["status"]) == ["ok", "error"]
    assert "ValueError: boom <b>bad</b>" in [c.value for c in at.code]


def test_pages_move_older_and_back(open_page: OpenPage, seeded_collector: SeededCollector) -> None:
    at = open_page(seeded_collector.url)
    assert at.button(key=PREVIOUS).disabled
    at.selectbox(key=PAGE_SIZE).set_value(10).run()
    newest = list(reversed(seeded_collector.root_names))
    assert root_names(at) == newest[:10]
    assert not at.button(key=NEXT).disabled
    at.button(key=NEXT).click().run()
    assert root_names(at) == newest[10:]
    assert at.button(key=NEXT).disabled
    assert not at.button(key=PREVIOUS).disabled
    at.button(key=PREVIOUS).click().run()
    assert root_names(at) == newest[:10]


def test_changing_page_clears_the_chosen_trace(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_page(seeded_collector.url)
    at.selectbox(key=PAGE_SIZE).set_value(10).run()
    at.selectbox(key=SELECTED).set_value(seeded_collector.untrusted_trace_id).run()
    assert len(at.dataframe) == 2
    at.button(key=NEXT).click().run()
    assert at.selectbox(key=SELECTED).value is None
    assert len(at.dataframe) == 1


def test_project_filter_narrows_the_table(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_page(seeded_collector.url)
    at.text_input(key=PROJECT).input(seeded_collector.OTHER_PROJECT).run()
    assert root_names(at) == ["other-root"]
    at.text_input(key=PROJECT).input("no-such-project").run()
    assert not at.dataframe
    assert [i.value for i in at.info] == ["No traces in this project yet."]


def test_unreachable_collector_shows_an_error_not_a_traceback(
    open_page: OpenPage, closed_port_url: str
) -> None:
    at = open_page(closed_port_url)
    [error] = at.error
    port = closed_port_url.rsplit(":", 1)[1]
    assert error.value.startswith("Collector at http")
    assert "is not reachable" in error.value
    assert port in error.value
    assert not at.dataframe


def test_empty_collector_invites_sending_traces(
    open_page: OpenPage, keyed_collector: KeyedCollector
) -> None:
    at = open_page(keyed_collector.url, api_key=keyed_collector.api_key)
    assert not at.error
    [info] = at.info
    assert info.value.startswith("No traces yet")


def test_missing_api_key_says_how_to_fix_it(
    open_page: OpenPage, keyed_collector: KeyedCollector
) -> None:
    at = open_page(keyed_collector.url)
    [error] = at.error
    assert "401" in error.value
    assert "LOOPWISE\\_API\\_KEY" in error.value  # escaped for Markdown
