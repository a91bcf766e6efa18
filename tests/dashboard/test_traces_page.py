"""The Traces page, run by Streamlit's AppTest against a real, seeded collector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import pytest
from streamlit.testing.v1 import AppTest

SeededCollector = Any  # tests/dashboard/conftest.py; conftest modules are not importable
KeyedCollector = Any
OpenPage = Callable[..., AppTest]
Texts = Callable[[AppTest], list[str]]
Figures = Callable[[AppTest], list[dict[str, Any]]]

SELECTED = "traces.selected"
PAGE_SIZE = "traces.page_size"
PROJECT = "traces.project"
SESSION = "traces.session"
STATUS = "traces.status"
TRACE_ID = "traces.trace_id"
NEXT = "traces.next"
PREVIOUS = "traces.previous"
SHOW_RAW = "traces.show_raw"


def root_names(at: AppTest) -> list[str]:
    """The root names in the traces table, top to bottom."""
    return list(at.dataframe[0].value["root name"])


def tables(at: AppTest) -> list[Any]:
    """Every table on the page, as pandas frames."""
    return [frame.value for frame in at.dataframe]


def span_table(at: AppTest) -> Any:
    """The span tree table of the open trace."""
    [table] = [t for t in tables(at) if {"span", "kind", "status"} <= set(t.columns)]
    return table


def open_trace(open_page: OpenPage, seeded: SeededCollector, trace_id: str) -> AppTest:
    """The Traces page with ``trace_id`` chosen in the picker."""
    at = open_page("traces", seeded.url)
    at.selectbox(key=SELECTED).set_value(trace_id).run()
    assert not at.exception
    return at


def test_page_lists_the_seeded_traces_newest_first(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_page("traces", seeded_collector.url)
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
    at = open_page("traces", seeded_collector.url)
    assert at.selectbox(key=SELECTED).value is None
    assert len(at.dataframe) == 1
    assert not at.code
    assert "trace" not in at.query_params


def test_choosing_a_trace_shows_its_span_tree_and_raw_content_as_text(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_trace(open_page, seeded_collector, seeded_collector.untrusted_trace_id)
    spans = span_table(at)
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


def test_choosing_a_trace_puts_it_in_the_url(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_trace(open_page, seeded_collector, seeded_collector.untrusted_trace_id)
    assert at.query_params["trace"] == seeded_collector.untrusted_trace_id


def test_a_url_with_a_trace_opens_it(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_page("traces", seeded_collector.url, query={"trace": seeded_collector.error_trace_id})
    assert at.selectbox(key=SELECTED).value == seeded_collector.error_trace_id
    assert list(span_table(at)["status"]) == ["ok", "error"]


def test_a_url_can_open_a_trace_that_is_not_on_the_current_page(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_page(
        "traces",
        seeded_collector.url,
        query={"trace": seeded_collector.error_trace_id, "project": "other-project"},
    )
    assert root_names(at) == ["other-root"]
    assert at.selectbox(key=SELECTED).value == seeded_collector.error_trace_id
    assert any(seeded_collector.error_trace_id in t.value for t in at.text)


def test_typing_a_trace_id_opens_it(open_page: OpenPage, seeded_collector: SeededCollector) -> None:
    at = open_page("traces", seeded_collector.url)
    at.text_input(key=TRACE_ID).input(seeded_collector.error_trace_id.upper()).run()
    assert at.selectbox(key=SELECTED).value == seeded_collector.error_trace_id
    assert list(span_table(at)["status"]) == ["ok", "error"]


def test_an_unknown_trace_in_the_url_says_so(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_page("traces", seeded_collector.url, query={"trace": "f" * 32})
    [error] = at.error
    assert "404" in error.value
    assert "no trace" in error.value


def test_trace_header_links_to_its_session_and_user(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_trace(open_page, seeded_collector, seeded_collector.untrusted_trace_id)
    links = {
        link.proto.label: dict(parse_qsl(link.proto.query_string)) for link in at.get("page_link")
    }
    assert links == {
        "Session\\: session\\-1": {"session": "session-1"},
        "User\\: user\\-1": {"user": "user-1"},
    }
    assert all(link.proto.page == "traces" for link in at.get("page_link"))
    header = [t.value for t in at.text if t.value.startswith("Trace ")]
    assert header and "4 spans" in header[0] and "42 tokens" in header[0]
    assert "Tags: vip" in [t.value for t in at.text]


def test_a_session_in_the_url_fills_the_filter_and_stays_in_the_url(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_page("traces", seeded_collector.url, query={"session": "session-1"})
    assert at.text_input(key=SESSION).value == "session-1"
    assert at.query_params["session"] == "session-1"
    at.text_input(key=SESSION).input("").run()
    assert "session" not in at.query_params


def test_timeline_draws_one_bar_per_span_in_tree_order(
    open_page: OpenPage, seeded_collector: SeededCollector, figures: Figures
) -> None:
    at = open_trace(open_page, seeded_collector, seeded_collector.untrusted_trace_id)
    [timeline] = figures(at)
    [bars] = timeline["data"]
    assert bars["orientation"] == "h"
    assert len(bars["y"]) == 4
    assert bars["y"][0] == "1. root"
    assert "&lt;" not in bars["y"][1] and "javascript" in bars["y"][1]  # plain text, no tags
    assert all(base >= 0 for base in bars["base"])


def test_chat_messages_are_shown_as_plain_text(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_trace(open_page, seeded_collector, seeded_collector.untrusted_trace_id)
    assert len(at.chat_message) == 1
    texts = [t.value for t in at.chat_message[0].text]
    assert texts == ["user:", seeded_collector.BOLD]


def test_untrusted_strings_never_reach_markdown(
    open_page: OpenPage, seeded_collector: SeededCollector, markdown_texts: Texts
) -> None:
    at = open_trace(open_page, seeded_collector, seeded_collector.untrusted_trace_id)
    at.toggle(key=SHOW_RAW).set_value(True).run()
    assert not at.exception
    assert any(c.value.count(seeded_collector.SCRIPT) for c in at.code)  # attributes shown
    rendered = markdown_texts(at)
    assert len(at.expander) == 4
    for untrusted in seeded_collector.UNTRUSTED_STRINGS:
        assert not [text for text in rendered if untrusted in text]
    for fragment in ("<script", "<img", "](javascript", "**"):
        assert not [text for text in rendered if fragment in text]


def test_scores_show_on_the_trace_and_on_their_span(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_trace(open_page, seeded_collector, seeded_collector.untrusted_trace_id)
    scored = [t for t in tables(at) if "name" in t.columns]
    trace_level, span_level = scored
    assert sorted(trace_level["name"]) == ["helpfulness"] * 3
    assert set(trace_level["status"]) == {"ok", "errored"}
    assert seeded_collector.SCRIPT in set(trace_level["explanation"])  # text in a table cell
    assert list(span_level["name"]) == [seeded_collector.EVIL_EVALUATOR] * 2
    assert "Scores of the whole trace" in [c.value for c in at.caption]


def test_missing_flags_endpoint_is_a_plain_note(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_trace(open_page, seeded_collector, seeded_collector.untrusted_trace_id)
    notes = [c.value for c in at.caption if "not available" in c.value]
    assert notes == ["Flags are not available: this collector has no endpoint for them yet."]
    assert not at.error


def test_error_span_shows_its_status_message(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_trace(open_page, seeded_collector, seeded_collector.error_trace_id)
    spans = span_table(at)
    assert list(spans["status"]) == ["ok", "error"]
    assert "ValueError: boom <b>bad</b>" in [c.value for c in at.code]


def test_pages_move_older_and_back(open_page: OpenPage, seeded_collector: SeededCollector) -> None:
    at = open_page("traces", seeded_collector.url)
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
    at = open_page("traces", seeded_collector.url)
    at.selectbox(key=PAGE_SIZE).set_value(10).run()
    at.selectbox(key=SELECTED).set_value(seeded_collector.untrusted_trace_id).run()
    assert len(at.dataframe) > 1
    at.button(key=NEXT).click().run()
    assert at.selectbox(key=SELECTED).value is None
    assert len(at.dataframe) == 1
    assert "trace" not in at.query_params


def test_project_filter_narrows_the_table(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_page("traces", seeded_collector.url)
    at.text_input(key=PROJECT).input(seeded_collector.OTHER_PROJECT).run()
    assert root_names(at) == ["other-root"]
    assert at.query_params["project"] == seeded_collector.OTHER_PROJECT
    at.text_input(key=PROJECT).input("no-such-project").run()
    assert not at.dataframe
    assert [i.value for i in at.info] == ["No traces in this project yet."]


def test_unreachable_collector_shows_an_error_not_a_traceback(
    open_page: OpenPage, closed_port_url: str
) -> None:
    at = open_page("traces", closed_port_url)
    [error] = at.error
    port = closed_port_url.rsplit(":", 1)[1]
    assert error.value.startswith("Collector at http")
    assert "is not reachable" in error.value
    assert port in error.value
    assert not at.dataframe


def test_empty_collector_invites_sending_traces(
    open_page: OpenPage, keyed_collector: KeyedCollector
) -> None:
    at = open_page("traces", keyed_collector.url, api_key=keyed_collector.api_key)
    assert not at.error
    [info] = at.info
    assert info.value.startswith("No traces yet")


def test_missing_api_key_says_how_to_fix_it(
    open_page: OpenPage, keyed_collector: KeyedCollector
) -> None:
    at = open_page("traces", keyed_collector.url)
    [info] = at.info
    assert "LOOPWISE\\_API\\_KEY" in info.value  # escaped for Markdown
    assert [t.label for t in at.text_input] == ["API key"]


@pytest.mark.parametrize(
    ("key", "value", "names"),
    [
        (SESSION, "session-1", ["root"]),
        ("traces.user", "user-1", ["root"]),
        ("traces.tag", "vip", ["root"]),
        ("traces.name", "error-trace", ["error-trace"]),
    ],
)
def test_filters_narrow_the_list(
    open_page: OpenPage, seeded_collector: SeededCollector, key: str, value: str, names: list[str]
) -> None:
    at = open_page("traces", seeded_collector.url)
    at.text_input(key=key).input(value).run()
    assert root_names(at) == names
    assert not at.warning


def test_status_filter_and_the_total(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_page("traces", seeded_collector.url)
    assert "Page 1 of 1 · 14 traces" in [c.value for c in at.caption]
    at.selectbox(key=STATUS).set_value("error").run()
    assert root_names(at) == ["error-trace"]
    at.text_input(key=SESSION).input("no-such-session").run()
    assert [i.value for i in at.info] == ["No traces match these filters."]


def test_a_failing_trace_names_its_root_cause_step(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_page("traces", seeded_collector.url, query={"trace": seeded_collector.error_trace_id})
    causes = [e.value for e in at.error if e.value.startswith("Root cause")]
    assert causes and "**failing tool**" in causes[0] and "error status" in causes[0]
