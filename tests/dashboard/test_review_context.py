"""The context next to a review item: the trace tree with the item and the root cause
marked, the steps around it, and the failing text highlighted from the evaluators' own
explanations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamlit.testing.v1 import AppTest

from loopwise.dashboard.api import TraceDetail
from loopwise.dashboard.review_context import (
    failing_parts,
    highlighted_line,
    neighbours,
    trace_rows,
)
from loopwise.evals.builtins.formats import _check_json

OpenPage = Callable[..., AppTest]
ReviewCollector = Any


def test_invented_ids_are_found_wherever_they_occur() -> None:
    text = "Your order ORD-99999 ships. ORD-10001 is fine; ORD-99999 again, and ORD-55555."
    why = "ORD-99999, ORD-55555 appear nowhere in the input or retrieved context"
    parts = failing_parts(text, [why])
    assert [text[p.start : p.end] for p in parts] == ["ORD-99999", "ORD-99999", "ORD-55555"]
    assert failing_parts(text, ["the answer refuses"]) == []


def test_the_broken_json_position_is_found_from_the_explanation() -> None:
    text = '{"category": "refund", "priority": high}'
    ok, why = _check_json(text, "any")
    assert not ok and why is not None and "at char" in why
    [part] = failing_parts(text, [why])
    assert text[part.start] == "h"  # where the parser gave up
    line = highlighted_line(text, part)
    assert ":red-background[**h**]" in line
    assert '\\{\\"category\\"' in line  # the context is escaped, never Markdown


def test_highlighted_text_cannot_form_markdown() -> None:
    text = "[click](javascript:alert(1)) ORD-1 <b>x</b> $x$"
    [part] = failing_parts(text, ["ORD-1 appears nowhere in the input"])
    line = highlighted_line(text, part)
    assert "](" not in line.replace("\\](", "").replace("\\(", "")
    assert "<b>" not in line and "$x$" not in line


def test_the_tree_marks_the_item_and_the_root_cause() -> None:
    spans = [
        {
            "span_id": "r",
            "name": "triage",
            "kind": "chain",
            "start_time": "1",
            "children": [
                {"span_id": "a", "name": "retrieve", "kind": "retriever", "start_time": "2"},
                {"span_id": "b", "name": "draft", "kind": "llm", "start_time": "3"},
            ],
        },
    ]
    detail = TraceDetail("t" * 32, spans=[], tree=spans)
    frame = trace_rows(detail, "b", "a")
    assert list(frame["span"]) == ["triage", "└─ retrieve", "└─ draft"]
    assert list(frame[""]) == ["", "went wrong first", "◀ this item"]
    before, after = neighbours(detail, "b")
    assert before is not None and before["name"] == "retrieve" and after is None
    assert neighbours(detail, "zz") == (None, None)


def test_the_page_shows_the_trace_next_to_the_item(
    open_page: OpenPage, review_collector: ReviewCollector
) -> None:
    at = open_page("reviews", review_collector.url)
    [tree] = [f.value for f in at.dataframe if "kind" in f.value.columns and "" in f.value.columns]
    # The refusal on the answer is the trace's first failure: both marks on one row.
    assert list(tree[""]) == ["", "◀ this item, went wrong first"]
    assert tree["span"].iloc[0].startswith("support ")
    assert any(m.value.startswith("[Open the whole trace](/traces?trace=") for m in at.markdown)
    assert any(t.value.startswith("Step before: support ") for t in at.text)
