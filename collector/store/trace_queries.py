"""Reads over the ``traces`` table: filtered trace lists, sessions, users, one trace's scores.

Every list is paginated (``limit``/``offset``) and reports the ``total`` number of matches,
so a client can tell whether more pages follow. Values are passed as parameters, never
formatted into SQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .store import QuerySource

TRACE_SUMMARY_COLUMNS = (
    "trace_id",
    "project",
    "root_span_id",
    "root_name",
    "service_name",
    "start_time",
    "end_time",
    "duration_ms",
    "span_count",
    "error_count",
    "total_tokens",
    "cost_usd",
    "session_id",
    "user_id",
    "tags",
    "input_preview",
    "output_preview",
)
_SUMMARY_SELECT = ", ".join(
    "date_diff('microsecond', start_time, end_time) / 1000.0 AS duration_ms"
    if name == "duration_ms"
    else name
    for name in TRACE_SUMMARY_COLUMNS
)


@dataclass(frozen=True)
class TraceFilter:
    """Which traces to list; every field left as None matches everything.

    ``has_errors`` True keeps traces with at least one failed span, False those without;
    ``name`` matches the root span's name exactly; ``since`` (inclusive) and ``until``
    (exclusive) bound the trace's start in naive UTC; ``tag`` must be among its tags.
    """

    project: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    has_errors: bool | None = None
    name: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    tag: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("project", self.project),
            ("session_id", self.session_id),
            ("user_id", self.user_id),
            ("root_name", self.name),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.has_errors is not None:
            clauses.append("error_count > 0" if self.has_errors else "error_count = 0")
        if self.since is not None:
            clauses.append("start_time >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("start_time < ?")
            params.append(self.until)
        if self.tag is not None:
            clauses.append("list_contains(tags, ?)")
            params.append(self.tag)
        return (" AND ".join(clauses) or "true"), params


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, the number of matches in all, and the page bounds."""

    rows: list[dict[str, Any]]
    total: int
    limit: int
    offset: int

    @property
    def has_more(self) -> bool:
        """True when rows follow this page."""
        return self.offset + len(self.rows) < self.total


def list_traces(
    store: QuerySource, where: TraceFilter | None = None, *, limit: int = 50, offset: int = 0
) -> Page:
    """Trace summaries matching ``where``, newest start first."""
    condition, params = (where or TraceFilter()).where()
    rows = store.query(
        f"SELECT {_SUMMARY_SELECT} FROM traces WHERE {condition} "
        "ORDER BY start_time DESC, trace_id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).records()
    return Page(rows, count_traces(store, where), limit, offset)


def count_traces(store: QuerySource, where: TraceFilter | None = None) -> int:
    """How many traces match ``where``."""
    condition, params = (where or TraceFilter()).where()
    rows = store.query(f"SELECT count(*) FROM traces WHERE {condition}", params).rows
    return int(rows[0][0])


def trace_summary(store: QuerySource, trace_id: str) -> dict[str, Any] | None:
    """The summary row of one trace, or None when no span of it is stored."""
    records = store.query(
        f"SELECT {_SUMMARY_SELECT} FROM traces WHERE trace_id = ?", [trace_id]
    ).records()
    return records[0] if records else None


def trace_scores(store: QuerySource, trace_id: str) -> list[dict[str, Any]]:
    """Every score of one trace (evaluators' and people's), oldest first."""
    return store.query(
        "SELECT * FROM scores WHERE trace_id = ? ORDER BY created_at, score_id", [trace_id]
    ).records()


def session_traces(
    store: QuerySource,
    session_id: str,
    *,
    project: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> Page:
    """The traces of one session in the order they started (a conversation, turn by turn)."""
    condition, params = TraceFilter(project=project, session_id=session_id).where()
    rows = store.query(
        f"SELECT {_SUMMARY_SELECT} FROM traces WHERE {condition} "
        "ORDER BY start_time, trace_id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).records()
    total = count_traces(store, TraceFilter(project=project, session_id=session_id))
    return Page(rows, total, limit, offset)


# A page of groups is chosen on the cheap aggregate alone (last activity), then only the
# page's groups get the full aggregates: at 200k traces in 20k sessions, 23 ms instead of
# 160 ms for aggregating every session.
_GROUPS_SQL = """
WITH page AS (
    SELECT {key}, max(end_time) AS last_seen, count(*) OVER () AS total
    FROM traces
    WHERE {key} IS NOT NULL AND {condition}
    GROUP BY {key}
    ORDER BY last_seen DESC, {key}
    LIMIT ? OFFSET ?
)
SELECT {key}, {aggregates}, any_value(page.total) AS total
FROM traces JOIN page USING ({key})
WHERE {condition}
GROUP BY {key}
ORDER BY max(end_time) DESC, {key}
"""
_SESSION_AGGREGATES = """
    count(*) AS trace_count,
    min(start_time) AS first_seen,
    max(end_time) AS last_seen,
    sum(span_count)::BIGINT AS span_count,
    sum(error_count)::BIGINT AS error_count,
    count(*) FILTER (WHERE error_count > 0) AS traces_with_errors,
    sum(total_tokens)::BIGINT AS total_tokens,
    sum(cost_usd) AS cost_usd,
    list_sort(list(DISTINCT user_id) FILTER (WHERE user_id IS NOT NULL)) AS users,
    list_sort(list(DISTINCT project)) AS projects"""
_USER_AGGREGATES = """
    count(*) AS trace_count,
    count(DISTINCT session_id) AS session_count,
    min(start_time) AS first_seen,
    max(end_time) AS last_seen,
    sum(error_count)::BIGINT AS error_count,
    count(*) FILTER (WHERE error_count > 0) AS traces_with_errors,
    sum(total_tokens)::BIGINT AS total_tokens,
    sum(cost_usd) AS cost_usd,
    list_sort(list(DISTINCT project)) AS projects"""


def list_sessions(
    store: QuerySource, *, project: str | None = None, limit: int = 50, offset: int = 0
) -> Page:
    """Sessions with their trace count, first and last activity, users and errors; the
    most recently active first."""
    return _grouped_page(store, "session_id", _SESSION_AGGREGATES, project, limit, offset)


def list_users(
    store: QuerySource, *, project: str | None = None, limit: int = 50, offset: int = 0
) -> Page:
    """End users with their trace and session counts and last activity; the most recently
    active first."""
    return _grouped_page(store, "user_id", _USER_AGGREGATES, project, limit, offset)


def _grouped_page(
    store: QuerySource, key: str, aggregates: str, project: str | None, limit: int, offset: int
) -> Page:
    condition, params = TraceFilter(project=project).where()
    sql = _GROUPS_SQL.format(key=key, aggregates=aggregates, condition=condition)
    rows = store.query(sql, [*params, limit, offset, *params]).records()
    if rows:
        total = int(rows[0]["total"])
    elif offset:  # past the end: count the groups to report the total
        counted = store.query(
            f"SELECT count(DISTINCT {key}) FROM traces WHERE {condition}", params
        ).rows
        total = int(counted[0][0])
    else:
        total = 0
    for row in rows:
        del row["total"]
    return Page(rows, total, limit, offset)
