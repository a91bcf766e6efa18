"""One trace on the Traces page: summary with session and user links, the timeline
(waterfall) and the span tree, then every span's input, output, messages, attributes,
scores and flags.

Everything shown comes from the API and is untrusted: ``st.text``, ``st.code`` and
``st.dataframe`` draw it, and the few labels that render Markdown get ``escape_markdown``.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from .api import ApiError, CollectorAPI, Record, RouteMissing
from .charts import waterfall_figure
from .messages import ChatMessage, span_messages
from .navigation import link
from .render import SpanRow, escape_markdown, flatten_tree, span_summary, spans_frame
from .trace_summary import TraceSummary, attached_frame, summarize
from .widgets import show_api_error, show_content, show_json_text

MAX_DETAILED_SPANS = 200
"""Spans past this many are listed in the tree but get no detail section or timeline bar."""

SHOW_RAW_KEY = "traces.show_raw"

SPAN_COLUMN_CONFIG = {
    "duration (ms)": st.column_config.NumberColumn(format="%.1f"),
    "cost (USD)": st.column_config.NumberColumn(format="$%.4f"),
}
ROLE_AVATARS = {
    "user": ":material/person:",
    "assistant": ":material/smart_toy:",
    "system": ":material/settings:",
    "tool": ":material/build:",
    "other": ":material/chat:",
}


def render_trace(api: CollectorAPI, trace_id: str) -> None:
    """Fetch one trace (and its scores and flags) and draw it; API failures are shown."""
    try:
        detail = api.trace(trace_id)
    except ApiError as exc:
        show_api_error(exc)
        return
    rows = flatten_tree(detail.tree)
    _header(summarize(detail.trace_id, rows))
    if detail.root_cause:
        cause = detail.root_cause
        reasons = ", ".join(str(r) for r in cause.get("reasons") or []) or "failed"
        st.error(
            f"Root cause: **{escape_markdown(cause.get('name'))}** "
            f"({escape_markdown(cause.get('kind'))}) — {escape_markdown(reasons)}. "
            "The first step that failed while its inputs were fine."
        )
    missing: list[str] = []
    scores = detail.scores
    if scores is None:  # an older collector: ask the scores endpoint
        scores = _attached(lambda: api.trace_scores(detail.trace_id), "scores", missing)
    flags = _attached(lambda: api.flags(trace_id=detail.trace_id, limit=200), "flags", missing)
    if missing:
        st.caption(
            f"{' and '.join(missing).capitalize()} are not available: this collector has no "
            "endpoint for them yet."
        )
    _attached_table("Scores of the whole trace", scores, span_id=None)
    _attached_table("Flags on the whole trace", flags, span_id=None)
    timeline, tree = st.tabs(["Timeline", "Span tree"])
    with timeline:
        st.plotly_chart(waterfall_figure(rows[:MAX_DETAILED_SPANS]), config={"displaylogo": False})
    with tree:
        st.dataframe(
            spans_frame(rows), hide_index=True, column_config=SPAN_COLUMN_CONFIG, width="stretch"
        )
    st.subheader("Spans")
    show_raw = st.toggle("Show raw attributes, resource and events", key=SHOW_RAW_KEY)
    for number, row in enumerate(rows[:MAX_DETAILED_SPANS], start=1):
        _render_span(number, row, scores, flags, show_raw=show_raw)
    if len(rows) > MAX_DETAILED_SPANS:
        st.caption(f"Showing details of the first {MAX_DETAILED_SPANS} spans.")


def _attached(
    fetch: Callable[[], list[Record]], what: str, missing: list[str]
) -> list[Record] | None:
    """Scores or flags of the trace; None when they cannot be fetched (an API error is
    shown; a collector without the endpoint adds ``what`` to ``missing``)."""
    try:
        return fetch()
    except RouteMissing:
        missing.append(what)
    except ApiError as exc:
        show_api_error(exc)
    return None


def _header(summary: TraceSummary) -> None:
    st.subheader("Trace")
    st.text(summary.line())
    links = [
        ("session", summary.session_id, ":material/forum:", "Session"),
        ("user", summary.user_id, ":material/person:", "User"),
    ]
    columns = st.columns(4)
    for column, (param, value, icon, noun) in zip(columns, links, strict=False):
        if value:
            with column:
                link("traces", f"{noun}: {value}", icon, **{param: value})
    if summary.tags:
        st.text("Tags: " + ", ".join(summary.tags))


def _attached_table(heading: str, items: list[Record] | None, span_id: str | None) -> None:
    """The scores or flags attached to ``span_id`` (None: to the whole trace), if any."""
    frame = attached_frame(items or [], span_id)
    if frame.empty:
        return
    st.caption(heading)
    st.dataframe(frame, hide_index=True, width="stretch")


def _render_span(
    number: int,
    row: SpanRow,
    scores: list[Record] | None,
    flags: list[Record] | None,
    *,
    show_raw: bool,
) -> None:
    span = row.span
    label = f"{number}. {escape_markdown(span.get('name') or '(unnamed)', max_chars=80)}"
    label += " — " + escape_markdown(span_summary(row))
    with st.expander(label, expanded=number == 1):
        st.text(f"{span.get('name')}  (span {span.get('span_id')})")
        if span.get("status_message"):
            show_content("Status message", span["status_message"])
        input_column, output_column = st.columns(2)
        with input_column:
            show_content("Input", span.get("input"))
        with output_column:
            show_content("Output", span.get("output"))
        inputs, outputs = span_messages(span)
        if inputs or outputs:
            _messages(inputs, outputs)
        span_id = span.get("span_id")
        if isinstance(span_id, str):
            _attached_table("Scores", scores, span_id)
            _attached_table("Flags", flags, span_id)
        if show_raw:
            show_json_text("Attributes", span.get("attributes"))
            show_json_text("Resource", span.get("resource"))
            show_json_text("Events", span.get("events"))
            show_json_text("Metadata", span.get("metadata"))


def _messages(inputs: list[ChatMessage], outputs: list[ChatMessage]) -> None:
    st.caption("Messages")
    for message in [*inputs, *outputs]:
        with st.chat_message(message.kind, avatar=ROLE_AVATARS[message.kind]):
            st.text(f"{message.role}:")
            st.text(message.content or "(empty)")
