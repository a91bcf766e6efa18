"""The Overview page: traffic, errors, latency, tokens and cost over time; score trends per
evaluator; open flags. Filters: time range, project, service, model, session, user, tag.

API calls per run: the filter values (cached for a minute), /api/overview, and, below it,
/api/overview/scores and /api/flags. A section whose endpoint this collector lacks says so
plainly and the rest of the page still draws.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from .api import ApiError, CollectorAPI, Record, RouteMissing
from .charts import (
    TimeAxis,
    error_rate_figure,
    latency_figure,
    score_trends_figure,
    tokens_cost_figure,
    traces_figure,
)
from .filters import (
    DEFAULT_TIME_RANGE,
    TIME_RANGES,
    OverviewQuery,
    fitting_time_range,
    parse_utc,
    utc_now,
)
from .overview_render import evaluators_frame, flags_frame, kpis
from .settings import DashboardSettings
from .widgets import collector_status, show_api_error

RANGE_KEY = "overview.range"
PROJECT_KEY = "overview.project"
SERVICE_KEY = "overview.service"
MODEL_KEY = "overview.model"
TAG_KEY = "overview.tag"
SESSION_KEY = "overview.session"
USER_KEY = "overview.user"
SCORE_METRIC_KEY = "overview.score_metric"

FACETS_CACHE_S = 60
OPEN_FLAGS_SHOWN = 20
SCORE_METRICS = {"mean": "Mean score", "pass_rate": "Pass rate"}
CHART_CONFIG = {"displaylogo": False}

EVALUATOR_COLUMN_CONFIG = {
    "evaluator": st.column_config.TextColumn(width="medium"),
    "mean score": st.column_config.NumberColumn(format="%.3f"),
    "pass rate": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
}
FLAG_COLUMN_CONFIG = {
    "flagged at (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
    "trace": st.column_config.LinkColumn(display_text=r"trace=([0-9a-fA-F]{1,12})"),
}


@st.cache_data(ttl=FACETS_CACHE_S, show_spinner=False)
def _cached_facets(
    endpoint: str, api_key: str | None, timeout_s: float, time_range: str
) -> dict[str, list[Record]]:
    with CollectorAPI(endpoint, api_key, timeout_s) as api:
        return api.facets(OverviewQuery.for_range(time_range))


def render(settings: DashboardSettings) -> None:
    """Draw the page: status line, filters, headline numbers, charts, scores, open flags."""
    st.title("Overview")
    if collector_status(settings) is None:
        return
    query = _filters(settings)
    if query is None:
        return
    with settings.connect() as api:
        try:
            overview = api.overview(query)
        except ApiError as exc:
            show_api_error(exc)
            return
        _headline(overview["totals"])
        axis = TimeAxis.from_window(overview.get("window"))
        if not overview["totals"].get("spans"):
            st.info("No spans match these filters in this time range. Try a longer range.")
        else:
            _traffic_charts(overview["series"], axis)
        bucket = axis.bucket_seconds if axis is not None else None
        _score_trends(api, replace(query, bucket_seconds=bucket), axis)
        _root_causes(api, query)
        _open_flags(api, query)


def _opening_range(settings: DashboardSettings) -> str:
    """The range the page opens with, fitted to when the stored traces start."""
    try:
        with settings.connect() as api:
            extent = api.extent()
    except ApiError:  # an older collector, or a failure shown by the queries below
        return DEFAULT_TIME_RANGE
    return fitting_time_range(
        parse_utc(extent.get("first")), parse_utc(extent.get("last")), utc_now()
    )


def _filters(settings: DashboardSettings) -> OverviewQuery | None:
    """Draw the filters; the query they describe, or None after showing an API error."""
    range_column, project_column, service_column, model_column = st.columns(4)
    if RANGE_KEY not in st.session_state:  # the first visit: a range that fits the data
        st.session_state[RANGE_KEY] = _opening_range(settings)
    time_range = range_column.selectbox("Time range", list(TIME_RANGES), key=RANGE_KEY)
    try:
        facets = _cached_facets(settings.endpoint, settings.api_key, settings.timeout_s, time_range)
    except ApiError as exc:
        show_api_error(exc)
        return None
    project = _facet_picker(
        project_column, "Project", "All projects", facets, "project", PROJECT_KEY
    )
    service = _facet_picker(
        service_column, "Service", "All services", facets, "service", SERVICE_KEY
    )
    model = _facet_picker(model_column, "Model", "All models", facets, "model", MODEL_KEY)
    session_column, user_column, tag_column, _ = st.columns(4)
    session = session_column.text_input("Session", key=SESSION_KEY, placeholder="any session")
    user = user_column.text_input("User", key=USER_KEY, placeholder="any user")
    tag = _facet_picker(tag_column, "Tag", "Any tag", facets, "tag", TAG_KEY)
    return OverviewQuery.for_range(
        time_range,
        project=project,
        service=service,
        model=model,
        session_id=session,
        user_id=user,
        tag=tag,
    )


def _facet_picker(
    column: DeltaGenerator,
    label: str,
    everything: str,
    facets: dict[str, list[Record]],
    facet: str,
    key: str,
) -> str | None:
    """A picker of the facet's values (plain-text options), ``None`` standing for all."""
    values = [str(item["value"]) for item in facets.get(facet, []) if item.get("value")]
    chosen = st.session_state.get(key)
    if chosen and chosen not in values:  # keep a choice that left the top list
        values.append(chosen)
    options: list[str | None] = [None, *values]
    picked = column.selectbox(
        label,
        options,
        key=key,
        format_func=lambda value: everything if value is None else value,
    )
    return picked if isinstance(picked, str) else None


def _headline(totals: Record) -> None:
    for column, kpi in zip(st.columns(6), kpis(totals), strict=True):
        column.metric(kpi.label, kpi.value, help=kpi.help)


def _traffic_charts(series: list[Record], axis: TimeAxis | None) -> None:
    top_left, top_right = st.columns(2)
    top_left.plotly_chart(traces_figure(series, axis), config=CHART_CONFIG)
    top_right.plotly_chart(error_rate_figure(series, axis), config=CHART_CONFIG)
    bottom_left, bottom_right = st.columns(2)
    bottom_left.plotly_chart(latency_figure(series, axis), config=CHART_CONFIG)
    bottom_right.plotly_chart(tokens_cost_figure(series, axis), config=CHART_CONFIG)


def _score_trends(api: CollectorAPI, query: OverviewQuery, axis: TimeAxis | None) -> None:
    st.subheader("Scores")
    try:
        trends = api.score_trends(query)
    except ApiError as exc:
        show_api_error(exc)
        return
    evaluators = trends["evaluators"]
    if not evaluators:
        st.caption("No scores in this range yet. Evaluators add them as they score spans.")
        return
    metric = st.segmented_control(
        "Trend of",
        list(SCORE_METRICS),
        default="mean",
        key=SCORE_METRIC_KEY,
        format_func=SCORE_METRICS.__getitem__,
    )
    figure = score_trends_figure(
        trends["series"], metric or "mean", axis or TimeAxis.from_window(trends.get("window"))
    )
    st.plotly_chart(figure, config=CHART_CONFIG)
    st.dataframe(
        evaluators_frame(evaluators),
        hide_index=True,
        column_config=EVALUATOR_COLUMN_CONFIG,
        width="stretch",
    )
    total = trends.get("evaluator_count")
    if isinstance(total, int) and total > len(evaluators):
        st.caption(f"Showing the {len(evaluators)} busiest of {total} evaluators.")


def _root_causes(api: CollectorAPI, query: OverviewQuery) -> None:
    """Failing traces by the step that went wrong first: which step of the workflow to fix."""
    st.subheader("Failures by root-cause step")
    try:
        steps = api.root_causes(query)
    except RouteMissing:
        return
    except ApiError as exc:
        show_api_error(exc)
        return
    if not steps:
        st.caption("No failing traces in this time range.")
        return
    frame = pd.DataFrame(
        [
            {"step": s.get("name"), "kind": s.get("kind"), "failing traces": s.get("traces")}
            for s in steps
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch")


def _open_flags(api: CollectorAPI, query: OverviewQuery) -> None:
    st.subheader("Open flags")
    try:
        flags = api.flags(status="open", project=query.project, limit=OPEN_FLAGS_SHOWN)
    except RouteMissing:
        st.info("Flags are not available: this collector has no flags endpoint yet.")
        return
    except ApiError as exc:
        show_api_error(exc)
        return
    if not flags:
        st.caption("No open flags.")
        return
    st.dataframe(
        flags_frame(flags), hide_index=True, column_config=FLAG_COLUMN_CONFIG, width="stretch"
    )
    if len(flags) >= OPEN_FLAGS_SHOWN:
        st.caption(f"The {OPEN_FLAGS_SHOWN} newest open flags.")
