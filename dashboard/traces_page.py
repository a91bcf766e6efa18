"""The Traces page: recent traces, paginated, and the span tree of the chosen one.

One API call lists a page (it asks for one row more than it shows, to know whether an
older page exists); one more fetches the chosen trace.
"""

from __future__ import annotations

import streamlit as st

from .api import CollectorAPI, CollectorAPIError, Record
from .render import (
    SpanRow,
    escape_markdown,
    flatten_tree,
    span_summary,
    spans_frame,
    trace_label,
    traces_frame,
)
from .settings import DashboardSettings
from .widgets import collector_status, show_api_error, show_content, show_json_text

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25
MAX_DETAILED_SPANS = 200
"""Spans past this many are listed in the tree but get no input/output section."""

PAGE_KEY = "traces.page"
PAGE_SIZE_KEY = "traces.page_size"
PROJECT_KEY = "traces.project"
SELECTED_KEY = "traces.selected"
SHOW_RAW_KEY = "traces.show_raw"
PREVIOUS_KEY = "traces.previous"
NEXT_KEY = "traces.next"

TRACE_COLUMN_CONFIG = {
    "start time (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
    "duration (ms)": st.column_config.NumberColumn(format="%.1f"),
    "cost (USD)": st.column_config.NumberColumn(format="$%.4f"),
}
SPAN_COLUMN_CONFIG = {
    "duration (ms)": st.column_config.NumberColumn(format="%.1f"),
    "cost (USD)": st.column_config.NumberColumn(format="$%.4f"),
}


def render(settings: DashboardSettings) -> None:
    """Draw the page: status line, filters, the traces table, then the chosen trace."""
    st.title("Traces")
    if collector_status(settings) is None:
        return
    project, page_size = _filters()
    page = int(st.session_state.get(PAGE_KEY, 1))
    with settings.connect() as api:
        try:
            fetched = api.recent_traces(
                limit=page_size + 1, offset=(page - 1) * page_size, project=project
            )
        except CollectorAPIError as exc:
            show_api_error(exc)
            return
        traces, has_older = fetched[:page_size], len(fetched) > page_size
        _pager(page, has_older)
        if not traces:
            _show_empty(settings, page, project)
            return
        st.dataframe(
            traces_frame(traces),
            hide_index=True,
            column_config=TRACE_COLUMN_CONFIG,
            width="stretch",
        )
        trace_id = _trace_picker(traces)
        if trace_id is not None:
            _render_trace(api, trace_id)


def _filters() -> tuple[str | None, int]:
    project_column, size_column = st.columns([3, 1])
    project = project_column.text_input(
        "Project",
        key=PROJECT_KEY,
        placeholder="all projects",
        on_change=_go_to_page,
        args=(1,),
    )
    page_size = size_column.selectbox(
        "Traces per page",
        PAGE_SIZES,
        index=PAGE_SIZES.index(DEFAULT_PAGE_SIZE),
        key=PAGE_SIZE_KEY,
        on_change=_go_to_page,
        args=(1,),
    )
    return (project.strip() or None), int(page_size)


def _go_to_page(page: int) -> None:
    st.session_state[PAGE_KEY] = max(page, 1)
    st.session_state[SELECTED_KEY] = None


def _pager(page: int, has_older: bool) -> None:
    newer, older, position = st.columns([1, 1, 4], vertical_alignment="center")
    newer.button(
        "← Newer",
        key=PREVIOUS_KEY,
        disabled=page <= 1,
        on_click=_go_to_page,
        args=(page - 1,),
    )
    older.button(
        "Older →",
        key=NEXT_KEY,
        disabled=not has_older,
        on_click=_go_to_page,
        args=(page + 1,),
    )
    position.caption(f"Page {page}")


def _show_empty(settings: DashboardSettings, page: int, project: str | None) -> None:
    if page > 1:
        st.info("No traces on this page; go back to a newer page.")
    elif project:
        st.info("No traces in this project yet.")
    else:
        st.info(
            escape_markdown(
                f"No traces yet. Send OpenTelemetry spans to {settings.endpoint}/v1/traces "
                "or run `loopwise demo`."
            )
        )


def _trace_picker(traces: list[Record]) -> str | None:
    labels = {str(t["trace_id"]): trace_label(t) for t in traces if t.get("trace_id")}
    choice = st.selectbox(
        "Trace",
        list(labels),
        index=None,
        key=SELECTED_KEY,
        format_func=lambda trace_id: labels.get(trace_id, trace_id),
        placeholder="Choose a trace to see its spans",
    )
    return str(choice) if choice else None


def _render_trace(api: CollectorAPI, trace_id: str) -> None:
    try:
        detail = api.trace(trace_id)
    except CollectorAPIError as exc:
        show_api_error(exc)
        return
    rows = flatten_tree(detail.tree)
    st.subheader("Span tree")
    st.text(f"Trace {detail.trace_id} · {len(rows)} spans")
    st.dataframe(
        spans_frame(rows), hide_index=True, column_config=SPAN_COLUMN_CONFIG, width="stretch"
    )
    st.subheader("Inputs and outputs")
    show_raw = st.toggle("Show raw attributes, resource and events", key=SHOW_RAW_KEY)
    for number, row in enumerate(rows[:MAX_DETAILED_SPANS], start=1):
        _render_span(number, row, show_raw=show_raw)
    if len(rows) > MAX_DETAILED_SPANS:
        st.caption(f"Showing inputs and outputs of the first {MAX_DETAILED_SPANS} spans.")


def _render_span(number: int, row: SpanRow, *, show_raw: bool) -> None:
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
        if show_raw:
            show_json_text("Attributes", span.get("attributes"))
            show_json_text("Resource", span.get("resource"))
            show_json_text("Events", span.get("events"))
            show_json_text("Metadata", span.get("metadata"))
