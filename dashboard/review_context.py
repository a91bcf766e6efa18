"""The context a reviewer needs next to an item: the trace it belongs to (its span tree with
the item's span and the root cause marked, the step before and after, a link to the whole
trace) and the failing text highlighted in the output.

What to highlight is read from the evaluators' own explanations of the span's failures: the
identifiers ``invented_identifiers`` names ("ORD-99999 appears nowhere ..."), and the
position ``valid_json`` names ("... at char 41"). A structured output is searched as the
correction box shows it (compact JSON). Pure functions except ``show_context`` and
``show_highlights``; output text is never rendered as Markdown (``escape_markdown``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from .api import Record, TraceDetail
from .render import SpanRow, escape_markdown, flatten_tree, indented_name, output_text

INVENTED = re.compile(r"^(?:[\w.:-]+ failed: )?(?P<ids>.+?) appears? nowhere\b")
"""An ``invented_identifiers`` explanation, alone (a score's) or after the rule's name (a
flag's reason: ``invented_identifiers failed: ORD-99999 appears nowhere ...``)."""
AT_CHAR = re.compile(r"\bat char (?P<pos>\d+)\b")
CONTEXT_CHARS = 60
MAX_HIGHLIGHTS = 8


@dataclass(frozen=True)
class Part:
    """A stretch of the output to highlight: ``text[start:end]`` and why."""

    start: int
    end: int
    why: str


def failing_parts(text: str, explanations: Iterable[str]) -> list[Part]:
    """The stretches of ``text`` the explanations point at, in order, without overlaps."""
    found: list[Part] = []
    for why in explanations:
        invented = INVENTED.match(why)
        if invented:
            for token in (t.strip() for t in invented.group("ids").split(",")):
                found += [
                    Part(m.start(), m.end(), why)
                    for m in re.finditer(re.escape(token), text)
                    if token
                ]
        at = AT_CHAR.search(why)
        if at and int(at.group("pos")) <= len(text):
            position = min(int(at.group("pos")), max(len(text) - 1, 0))
            found.append(Part(position, min(position + 1, len(text)), why))
    found.sort(key=lambda p: (p.start, -p.end))
    merged: list[Part] = []
    for part in found:
        if merged and part.start < merged[-1].end:
            continue
        merged.append(part)
    return merged[:MAX_HIGHLIGHTS]


def highlighted_line(text: str, part: Part) -> str:
    """Markdown for one highlight: the failing stretch on a red background between escaped
    context on either side (one line)."""
    before = text[max(part.start - CONTEXT_CHARS, 0) : part.start]
    hit = text[part.start : part.end] or "⟂"
    after = text[part.end : part.end + CONTEXT_CHARS]
    lead = "…" if part.start > CONTEXT_CHARS else ""
    tail = "…" if part.end + CONTEXT_CHARS < len(text) else ""
    return (
        f"{lead}{escape_markdown(before)}:red-background[**{escape_markdown(hit)}**]"
        f"{escape_markdown(after)}{tail}"
    )


def trace_rows(detail: TraceDetail, span_id: str | None, root_cause: str | None) -> pd.DataFrame:
    """The trace's span tree with the reviewed span and the root cause marked."""
    rows = flatten_tree(detail.tree)
    return pd.DataFrame(
        [
            {
                "span": indented_name(row),
                "kind": row.span.get("kind"),
                "status": row.span.get("status"),
                "": _mark(row, span_id, root_cause),
            }
            for row in rows
        ],
        columns=["span", "kind", "status", ""],
    )


def neighbours(detail: TraceDetail, span_id: str | None) -> tuple[Record | None, Record | None]:
    """The step before and the step after the span, in the trace's depth-first order."""
    rows = flatten_tree(detail.tree)
    ids = [row.span.get("span_id") for row in rows]
    if span_id not in ids:
        return None, None
    at = ids.index(span_id)
    before = rows[at - 1].span if at > 0 else None
    after = rows[at + 1].span if at + 1 < len(rows) else None
    return before, after


def _mark(row: SpanRow, span_id: str | None, root_cause: str | None) -> str:
    marks = []
    if row.span.get("span_id") == span_id:
        marks.append("◀ this item")
    if root_cause and row.span.get("span_id") == root_cause:
        marks.append("went wrong first")
    return ", ".join(marks)


def show_context(detail: TraceDetail, item: Record, span: Record, explanations: list[str]) -> None:
    """Draw the trace context and the highlighted failing text for ``item`` on ``span``."""
    trace_id = str(item.get("trace_id") or "")
    st.caption("Trace")
    if re.fullmatch(r"[0-9a-f]{32}", trace_id):
        st.markdown(f"[Open the whole trace](/traces?trace={trace_id})")
    cause = (detail.root_cause or {}).get("span_id") or item.get("root_cause_span_id")
    st.dataframe(
        trace_rows(detail, span.get("span_id"), cause if isinstance(cause, str) else None),
        hide_index=True,
        width="stretch",
    )
    before, after = neighbours(detail, span.get("span_id"))
    for heading, step in (("Step before", before), ("Step after", after)):
        if step is not None:
            st.text(
                f"{heading}: {step.get('name')} ({step.get('kind') or 'span'}, "
                f"{step.get('status') or '?'})"
            )
    output = output_text(span.get("output"))
    if output:
        show_highlights(output, explanations)


def show_highlights(output: str, explanations: list[str]) -> None:
    """The stretches of ``output`` the explanations point at, each in its context."""
    parts = failing_parts(output, explanations)
    if parts:
        st.caption("Where the output fails")
        for part in parts:
            st.markdown(highlighted_line(output, part))
