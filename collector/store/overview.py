"""Aggregates behind the dashboard's Overview: traffic over time, score trends, filter values.

Two sources, so no request groups a million spans: the ``traces`` table (one summary row
per trace, kept current by the span writer) for volume, errors, trace latency, tokens and
cost; the ``spans`` table, narrowed to LLM calls and spans that carry token counts, for LLM
latency and input/output tokens.

Filters pick traces: ``project``, ``service`` (the root span's), ``session_id``, ``user_id``
and ``tag`` are columns of the trace summary; ``model`` picks the traces holding a call to
that model, and narrows the LLM-call figures to calls to it. Every value reaches DuckDB as a
bound parameter. Times are naive UTC; a window is ``[since, until)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from .store import QuerySource
from .usage import duplicate_sql, superseded_sql

BUCKET_LADDER_S: tuple[int, ...] = (
    60,
    300,
    600,
    900,
    1800,
    3600,
    2 * 3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86_400,
    2 * 86_400,
    7 * 86_400,
    30 * 86_400,
    365 * 86_400,
)
"""Bucket widths the Overview chooses from, smallest first."""

TARGET_BUCKETS = 60
MAX_BUCKETS = 2000
QUERY_TIMEOUT_S = 20.0
EPOCH = dt.datetime(1970, 1, 1)


@dataclass(frozen=True)
class OverviewFilter:
    """Which traces the Overview aggregates: a time window and values (``None``: any)."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    project: str | None = None
    service: str | None = None
    model: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    tag: str | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError("since must be earlier than until")

    def applied(self) -> dict[str, Any]:
        """The constraints in force, by name (for echoing back in API answers)."""
        names = ("since", "until", "project", "service", "model", "session_id", "user_id", "tag")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


@dataclass
class Where:
    """A WHERE clause and its bound parameters."""

    clauses: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def add(self, clause: str, **params: Any) -> None:
        """AND one more condition."""
        self.clauses.append(clause)
        self.params.update(params)

    def sql(self) -> str:
        """The conditions joined with AND (``TRUE`` when there are none)."""
        return " AND ".join(self.clauses) if self.clauses else "TRUE"


def _window(where: Where, f: OverviewFilter, column: str) -> None:
    if f.since is not None:
        where.add(f"{column} >= $since", since=f.since)
    if f.until is not None:
        where.add(f"{column} < $until", until=f.until)


def trace_where(f: OverviewFilter) -> Where:
    """The filter over the ``traces`` table (by trace start time)."""
    where = Where()
    _window(where, f, "start_time")
    for column, name in (
        ("project", "project"),
        ("service_name", "service"),
        ("session_id", "session_id"),
        ("user_id", "user_id"),
    ):
        value = getattr(f, name)
        if value is not None:
            where.add(f"{column} = ${name}", **{name: value})
    if f.tag is not None:
        where.add("list_contains(tags, $tag)", tag=f.tag)
    if f.model is not None:  # traces holding a call to the model, in the window
        calls = Where()
        _window(calls, f, "start_time")
        calls.add("model = $model", model=f.model)
        where.add(f"trace_id IN (SELECT trace_id FROM spans WHERE {calls.sql()})", **calls.params)
    return where


def _trace_subfilter(f: OverviewFilter) -> OverviewFilter:
    """``f`` without model and project: what must be looked up on the trace summary."""
    return OverviewFilter(
        since=f.since,
        until=f.until,
        service=f.service,
        session_id=f.session_id,
        user_id=f.user_id,
        tag=f.tag,
    )


def call_where(f: OverviewFilter) -> Where:
    """The filter over ``spans`` for the LLM-call figures: calls to ``model`` when set, in
    traces matching the other filters."""
    where = Where()
    _window(where, f, "start_time")
    if f.project is not None:
        where.add("project = $project", project=f.project)
    if f.model is not None:
        where.add("model = $model", model=f.model)
    sub = _trace_subfilter(f)
    if any(v is not None for v in (sub.service, sub.session_id, sub.user_id, sub.tag)):
        traces = trace_where(sub)
        where.add(
            f"trace_id IN (SELECT trace_id FROM traces WHERE {traces.sql()})", **traces.params
        )
    return where


def choose_bucket_seconds(since: dt.datetime, until: dt.datetime) -> int:
    """The smallest ladder width that splits ``[since, until)`` into at most ~60 buckets."""
    span_s = max((until - since).total_seconds(), 1.0)
    for width in BUCKET_LADDER_S:
        if span_s / width <= TARGET_BUCKETS:
            return width
    return BUCKET_LADDER_S[-1]


def bucket_start(moment: dt.datetime, width_s: int) -> dt.datetime:
    """The start of the bucket holding ``moment``: buckets are aligned to the Unix epoch."""
    width = dt.timedelta(seconds=width_s)
    return EPOCH + ((moment - EPOCH) // width) * width


def bucket_starts(since: dt.datetime, until: dt.datetime, width_s: int) -> list[dt.datetime]:
    """Every bucket start from the one holding ``since`` to the one holding ``until``;
    ``ValueError`` past ``MAX_BUCKETS``."""
    first = bucket_start(since, width_s)
    last = bucket_start(max(until - dt.timedelta(microseconds=1), since), width_s)
    step = dt.timedelta(seconds=width_s)
    count = (last - first) // step + 1
    if count > MAX_BUCKETS:
        raise ValueError(
            f"{count} buckets of {width_s} s in this window; at most {MAX_BUCKETS} (widen them)"
        )
    return [first + i * step for i in range(count)]


BUCKET_SQL = "make_timestamp((epoch_us({column}) // $bucket_us) * $bucket_us)"
"""The start of a row's bucket, as ``bucket_start`` computes it."""


@dataclass(frozen=True)
class Window:
    """The window an aggregate covers and the bucket width it is split into."""

    since: dt.datetime
    until: dt.datetime
    bucket_seconds: int

    def to_json(self) -> dict[str, Any]:
        """``since``, ``until`` and ``bucket_seconds`` for an API answer."""
        return {"since": self.since, "until": self.until, "bucket_seconds": self.bucket_seconds}


def resolve_window(
    store: QuerySource, f: OverviewFilter, where: Where, source: str, bucket_seconds: int | None
) -> Window | None:
    """The filter's bounds, or the data's extent where one is open (``source`` is a table and
    its time column, e.g. ``traces.start_time``); None when no row matches."""
    since, until = f.since, f.until
    if since is None or until is None:
        table, column = source.split(".")
        sql = f"SELECT min({column}), max({column}) FROM {table} WHERE {where.sql()}"
        low, high = run(store, sql, where.params)[0].values()
        if low is None:
            return None
        since = since if since is not None else low
        until = until if until is not None else high + dt.timedelta(microseconds=1)
    width = bucket_seconds or choose_bucket_seconds(since, until)
    bucket_starts(since, until, width)  # refuses too many buckets before any work
    return Window(since, until, width)


def data_extent(store: QuerySource) -> dict[str, Any]:
    """When the stored traces start: the earliest and latest start and how many traces (a
    page picks a default time range that fits the data from it)."""
    [row] = run(
        store,
        "SELECT min(start_time) AS first, max(start_time) AS last, count(*) AS traces FROM traces",
        {},
    )
    return {"first": row["first"], "last": row["last"], "traces": int(row["traces"])}


def run(store: QuerySource, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of one of our own queries, as dicts, under the Overview's time limit."""
    return store.query(sql, params, timeout_s=QUERY_TIMEOUT_S).records()


_TRACES_SQL = """
SELECT
    {bucket} AS bucket,
    count(*) AS traces,
    sum(span_count) AS spans,
    count(*) FILTER (WHERE error_count > 0) AS error_traces,
    sum(error_count) AS error_spans,
    quantile_cont(date_diff('microsecond', start_time, end_time) / 1000.0, [0.5, 0.95])
        AS trace_ms,
    sum(total_tokens) AS total_tokens,
    sum(cost_usd) AS cost_usd
FROM traces
WHERE {where}
GROUP BY GROUPING SETS ((bucket), ())
"""

_CALLS_SQL = """
SELECT
    {bucket} AS bucket,
    count(*) FILTER (WHERE kind = 'llm') AS llm_calls,
    quantile_cont(duration_ms, [0.5, 0.95]) FILTER (WHERE kind = 'llm') AS llm_ms,
    sum(input_tokens) FILTER (WHERE NOT {input_superseded}) AS input_tokens,
    sum(output_tokens) FILTER (WHERE NOT {output_superseded}) AS output_tokens
FROM spans
WHERE {where}
    AND (kind = 'llm' OR input_tokens IS NOT NULL OR output_tokens IS NOT NULL)
    AND NOT {duplicate}
GROUP BY GROUPING SETS ((bucket), ())
"""


def traffic(
    store: QuerySource, f: OverviewFilter, bucket_seconds: int | None = None
) -> dict[str, Any]:
    """Per time bucket and for the whole window: traces, spans, traces with an error and the
    error rate, trace duration p50/p95, LLM calls and their p50/p95, tokens and cost.

    Buckets without traffic are present with zero counts and null latencies.
    """
    traces = trace_where(f)
    # The extent of an open window ignores ``model``: a subquery over spans for a bucket width.
    extent = trace_where(replace(f, model=None)) if f.model is not None else traces
    window = resolve_window(store, f, extent, "traces.start_time", bucket_seconds)
    if window is None:
        return {"window": None, "totals": _traffic_row({}, {}), "series": []}
    width = {"bucket_us": window.bucket_seconds * 1_000_000}
    bucket = BUCKET_SQL.format(column="start_time")
    calls = call_where(f)
    trace_rows = run(
        store, _TRACES_SQL.format(bucket=bucket, where=traces.sql()), {**traces.params, **width}
    )
    # A span whose children report tokens too is their sum: each call is counted once.
    children = Where()
    _window(children, f, "start_time")
    if f.project is not None:
        children.add("project = $project", project=f.project)
    calls_sql = _CALLS_SQL.format(
        bucket=bucket,
        where=calls.sql(),
        input_superseded=superseded_sql("spans", "input_tokens", children.sql()),
        output_superseded=superseded_sql("spans", "output_tokens", children.sql()),
        duplicate=duplicate_sql("spans"),
    )
    call_rows = run(store, calls_sql, {**calls.params, **children.params, **width})
    by_trace = {r["bucket"]: r for r in trace_rows}
    by_call = {r["bucket"]: r for r in call_rows}
    series = [
        {"bucket": start, **_traffic_row(by_trace.get(start, {}), by_call.get(start, {}))}
        for start in bucket_starts(window.since, window.until, window.bucket_seconds)
    ]
    totals = _traffic_row(by_trace.get(None, {}), by_call.get(None, {}))
    return {"window": window.to_json(), "totals": totals, "series": series}


def _traffic_row(traces: dict[str, Any], calls: dict[str, Any]) -> dict[str, Any]:
    count = int(traces.get("traces") or 0)
    error_traces = int(traces.get("error_traces") or 0)
    trace_ms = traces.get("trace_ms") or [None, None]
    llm_ms = calls.get("llm_ms") or [None, None]
    return {
        "traces": count,
        "spans": int(traces.get("spans") or 0),
        "error_traces": error_traces,
        "error_spans": int(traces.get("error_spans") or 0),
        "error_rate": error_traces / count if count else None,
        "trace_p50_ms": trace_ms[0],
        "trace_p95_ms": trace_ms[1],
        "llm_calls": int(calls.get("llm_calls") or 0),
        "llm_p50_ms": llm_ms[0],
        "llm_p95_ms": llm_ms[1],
        "input_tokens": int(calls.get("input_tokens") or 0),
        "output_tokens": int(calls.get("output_tokens") or 0),
        "total_tokens": int(traces.get("total_tokens") or 0),
        "cost_usd": float(traces.get("cost_usd") or 0.0),
    }
