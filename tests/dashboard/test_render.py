"""Pure helpers behind the pages: escaping, tables, tree order, content blocks, settings."""

from __future__ import annotations

import string

import pytest

from loopwise.dashboard.render import (
    SpanRow,
    content_block,
    escape_markdown,
    flatten_tree,
    format_duration,
    indented_name,
    trace_label,
    traces_frame,
)
from loopwise.dashboard.settings import DEFAULT_ENDPOINT, DashboardSettings


def test_escape_markdown_backslashes_every_punctuation_character_on_one_line() -> None:
    assert escape_markdown("[a](javascript:x)") == r"\[a\]\(javascript\:x\)"
    every = "".join("\\" + c for c in string.punctuation)
    assert escape_markdown(string.punctuation + "\n<b>") == every + r" \<b\>"


def test_escape_markdown_truncates_before_escaping() -> None:
    assert escape_markdown("abcdef", max_chars=4) == "abc…"
    assert escape_markdown("a.b.c", max_chars=10) == "a\\.b\\.c"


@pytest.mark.parametrize(
    ("ms", "text"),
    [(0.25, "0.25 ms"), (850, "850 ms"), (1234, "1.2 s"), (185_000, "3 min 5 s")],
)
def test_format_duration(ms: float, text: str) -> None:
    assert format_duration(ms) == text


def test_content_block_pretty_prints_json_and_keeps_text_verbatim() -> None:
    assert content_block('{"a": [1, "<b>"]}').language == "json"
    assert content_block('{"a": [1, "<b>"]}').text == '{\n  "a": [\n    1,\n    "<b>"\n  ]\n}'
    assert content_block("[not json").text == "[not json"
    assert content_block("<script>x</script>").text == "<script>x</script>"
    assert content_block(None).text == "(none)"


def test_flatten_tree_orders_by_start_and_tracks_depth() -> None:
    tree = [
        {
            "span_id": "r",
            "name": "root",
            "start_time": "2026-01-01T00:00:00",
            "children": [
                {"span_id": "b", "name": "late", "start_time": "2026-01-01T00:00:02"},
                {
                    "span_id": "a",
                    "name": "early",
                    "start_time": "2026-01-01T00:00:01",
                    "children": [{"span_id": "c", "name": "leaf", "start_time": None}],
                },
            ],
        }
    ]
    rows = flatten_tree(tree)
    assert [(r.depth, r.span["name"]) for r in rows] == [
        (0, "root"),
        (1, "early"),
        (2, "leaf"),
        (1, "late"),
    ]
    assert [indented_name(r) for r in rows] == ["root", "└─ early", "   └─ leaf", "└─ late"]


def test_indented_name_keeps_one_line() -> None:
    assert indented_name(SpanRow(0, {"name": "two\nlines"})) == "two lines"
    assert indented_name(SpanRow(0, {"name": None})) == "(unnamed)"


def test_traces_frame_reads_mixed_iso_timestamps_and_missing_values() -> None:
    frame = traces_frame(
        [
            {"trace_id": "1", "start_time": "2026-01-01T00:00:00", "total_tokens": None},
            {"trace_id": "2", "start_time": "2026-01-01T00:00:00.250000", "total_tokens": 7},
        ]
    )
    assert not frame["start time (UTC)"].isna().any()
    assert list(frame["tokens"].astype("object").fillna(-1)) == [-1, 7]
    assert traces_frame([]).empty


def test_trace_label_is_one_plain_line() -> None:
    label = trace_label(
        {"root_name": "a\nb", "start_time": "2026-01-01T10:11:12.5", "trace_id": "abcdef0123"}
    )
    assert label == "a b · 2026-01-01 10:11:12 · abcdef01"


def test_settings_from_env() -> None:
    assert DashboardSettings.from_env({}) == DashboardSettings(DEFAULT_ENDPOINT, None)
    settings = DashboardSettings.from_env(
        {"LOOPWISE_ENDPOINT": "http://collector:9000/", "LOOPWISE_API_KEY": "k"}
    )
    assert (settings.endpoint, settings.api_key) == ("http://collector:9000", "k")
