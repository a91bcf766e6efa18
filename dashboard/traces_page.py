"""The Traces page: search and filter traces, page through them, open one.

The URL says what is open, so a link can share it: ``?trace=<id>`` opens a trace (even one
not on the current page), ``?session=<id>`` and ``?user=<id>`` filter the list. One API call
lists a page (one row more than it shows, to know whether an older page exists); opening a
trace costs three more (its spans, its scores, its flags).
"""

from __future__ import annotations

import streamlit as st

from .api import ApiError, Record, TracePage
from .filters import TIME_RANGES, TRACE_STATUSES, TraceQuery, utc_now
from .render import escape_markdown, page_caption, trace_label, traces_frame
from .settings import DashboardSettings
from .trace_view import render_trace
from .widgets import collector_status, show_api_error

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25
ANY_TIME = "All time"

PAGE_KEY = "traces.page"
PAGE_SIZE_KEY = "traces.page_size"
PROJECT_KEY = "traces.project"
SESSION_KEY = "traces.session"
USER_KEY = "traces.user"
STATUS_KEY = "traces.status"
TAG_KEY = "traces.tag"
NAME_KEY = "traces.name"
RANGE_KEY = "traces.range"
TRACE_ID_KEY = "traces.trace_id"
SELECTED_KEY = "traces.selected"
PREVIOUS_KEY = "traces.previous"
NEXT_KEY = "traces.next"

URL_FILTERS = {"session": SESSION_KEY, "user": USER_KEY, "project": PROJECT_KEY}
"""Query parameter → filter widget it fills."""
_SEEN_PREFIX = "traces.url."

TRACE_COLUMN_CONFIG = {
    "start time (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
    "duration (ms)": st.column_config.NumberColumn(format="%.1f"),
    "cost (USD)": st.column_config.NumberColumn(format="$%.4f"),
}


def render(settings: DashboardSettings) -> None:
    """Draw the page: status line, filters, the traces table, then the chosen trace."""
    st.title("Traces")
    if collector_status(settings) is None:
        return
    _follow_url()
    query = _filters()
    with settings.connect() as api:
        try:
            listing = api.traces(query)
        except ApiError as exc:
            show_api_error(exc)
            return
        page = query.offset // query.limit + 1
        _pager(page, query.limit, listing)
        if not listing.filtered:
            st.warning(
                "This collector does not filter traces by session, user, status, tag, name or "
                "time yet: the list below ignores those filters."
            )
        if listing.traces:
            st.dataframe(
                traces_frame(listing.traces),
                hide_index=True,
                column_config=TRACE_COLUMN_CONFIG,
                width="stretch",
            )
        else:
            _show_empty(settings, page, query)
        trace_id = _trace_picker(listing.traces)
        if trace_id is not None:
            render_trace(api, trace_id)


def _follow_url() -> None:
    """Copy ``?trace=``, ``?session=``, ``?user=`` and ``?project=`` into the widgets when the
    URL changed them (a followed link), leaving later edits alone."""
    changed = False
    for param, key in URL_FILTERS.items():
        value = st.query_params.get(param)
        if value is not None and st.session_state.get(_SEEN_PREFIX + param) != value:
            st.session_state[_SEEN_PREFIX + param] = value
            st.session_state[key] = value
            changed = True
    if changed:
        st.session_state[PAGE_KEY] = 1
    trace_id = st.query_params.get("trace")
    if trace_id is not None and st.session_state.get(_SEEN_PREFIX + "trace") != trace_id:
        st.session_state[_SEEN_PREFIX + "trace"] = trace_id
        st.session_state[SELECTED_KEY] = trace_id


def _filters() -> TraceQuery:
    project_column, session_column, user_column, trace_column = st.columns(4)
    project = project_column.text_input(
        "Project", key=PROJECT_KEY, placeholder="all projects", on_change=_go_to_page, args=(1,)
    )
    session = session_column.text_input(
        "Session", key=SESSION_KEY, placeholder="any session", on_change=_go_to_page, args=(1,)
    )
    user = user_column.text_input(
        "User", key=USER_KEY, placeholder="any user", on_change=_go_to_page, args=(1,)
    )
    trace_column.text_input(
        "Open trace by id",
        key=TRACE_ID_KEY,
        placeholder="32 hex characters",
        on_change=_open_typed_trace,
    )
    name_column, status_column, tag_column, range_column, size_column = st.columns([2, 1, 1, 1, 1])
    name = name_column.text_input(
        "Root span name",
        key=NAME_KEY,
        placeholder="any name (exact)",
        on_change=_go_to_page,
        args=(1,),
    )
    status = status_column.selectbox(
        "Status",
        [None, *TRACE_STATUSES],
        key=STATUS_KEY,
        format_func=lambda value: "any status" if value is None else value,
        on_change=_go_to_page,
        args=(1,),
    )
    tag = tag_column.text_input(
        "Tag", key=TAG_KEY, placeholder="any tag", on_change=_go_to_page, args=(1,)
    )
    time_range = range_column.selectbox(
        "Started",
        list(TIME_RANGES),
        index=list(TIME_RANGES).index(ANY_TIME),
        key=RANGE_KEY,
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
    _sync_url({"session": session, "user": user, "project": project})
    length = TIME_RANGES[time_range]
    page = int(st.session_state.get(PAGE_KEY, 1))
    return TraceQuery(
        limit=int(page_size),
        offset=(page - 1) * int(page_size),
        project=project.strip() or None,
        session_id=session.strip() or None,
        user_id=user.strip() or None,
        status=status,
        tag=tag.strip() or None,
        name=name.strip() or None,
        since=utc_now() - length if length is not None else None,
    )


def _sync_url(values: dict[str, str]) -> None:
    """Mirror the filters into the URL (and remember them as seen, so they stick)."""
    for param, value in values.items():
        value = value.strip()
        st.session_state[_SEEN_PREFIX + param] = value or None
        if value:
            st.query_params[param] = value
        elif param in st.query_params:
            del st.query_params[param]


def _go_to_page(page: int) -> None:
    st.session_state[PAGE_KEY] = max(page, 1)
    st.session_state[SELECTED_KEY] = None


def _open_typed_trace() -> None:
    typed = str(st.session_state.get(TRACE_ID_KEY) or "").strip().lower()
    if typed:
        st.session_state[SELECTED_KEY] = typed


def _pager(page: int, size: int, listing: TracePage) -> None:
    newer, older, position = st.columns([1, 1, 4], vertical_alignment="center")
    newer.button(
        "← Newer", key=PREVIOUS_KEY, disabled=page <= 1, on_click=_go_to_page, args=(page - 1,)
    )
    older.button(
        "Older →",
        key=NEXT_KEY,
        disabled=not listing.has_more,
        on_click=_go_to_page,
        args=(page + 1,),
    )
    position.caption(page_caption(page, size, listing.total, "traces"))


def _show_empty(settings: DashboardSettings, page: int, query: TraceQuery) -> None:
    if page > 1:
        st.info("No traces on this page; go back to a newer page.")
    elif query.project and not query.narrowing():
        st.info("No traces in this project yet.")
    elif query.project or query.narrowing():
        st.info("No traces match these filters.")
    else:
        st.info(
            escape_markdown(
                f"No traces yet. Send OpenTelemetry spans to {settings.endpoint}/v1/traces "
                "or run `loopwise demo`."
            )
        )


def _trace_picker(traces: list[Record]) -> str | None:
    """The trace to open: picked from this page, or named by the URL or the id box."""
    labels = {str(t["trace_id"]): trace_label(t) for t in traces if t.get("trace_id")}
    chosen = st.session_state.get(SELECTED_KEY)
    if isinstance(chosen, str) and chosen and chosen not in labels:
        labels = {chosen: f"trace {chosen}", **labels}
    choice = st.selectbox(
        "Trace",
        list(labels),
        index=None,
        key=SELECTED_KEY,
        format_func=lambda trace_id: labels.get(trace_id, trace_id),
        placeholder="Choose a trace to see its spans",
    )
    if choice:
        st.query_params["trace"] = str(choice)
        st.session_state[_SEEN_PREFIX + "trace"] = str(choice)
        return str(choice)
    if "trace" in st.query_params:
        del st.query_params["trace"]
    st.session_state[_SEEN_PREFIX + "trace"] = None
    return None
