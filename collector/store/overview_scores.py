"""Score trends per evaluator and the values the Overview's filters offer.

Scores are bucketed by ``created_at`` (when they were scored); filters other than
``project`` pick the scored traces through the ``traces`` summary (and ``spans`` for
``model``), as in ``overview.py``.

The numbers follow one convention (the suites' summaries use the same): ``mean`` is the
average ``value`` of the scores that were decided (``status = 'ok'``); ``pass_rate`` is
passes over the scores with a verdict plus the errored ones (an evaluator that could not
decide counts against it; a label-only score counts in neither). ``direction`` is the
newest score's (higher, lower or none: which way of the mean is better).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .overview import (
    BUCKET_SQL,
    QUERY_TIMEOUT_S,
    OverviewFilter,
    Where,
    resolve_window,
    run,
    trace_where,
)
from .store import QuerySource

MAX_EVALUATORS = 12
DEFAULT_FACET_LIMIT = 50
FACETS = ("project", "service", "model", "tag")


def score_where(f: OverviewFilter) -> Where:
    """The filter over ``scores``: created in the window, about a matching trace."""
    where = Where()
    if f.since is not None:
        where.add("created_at >= $since", since=f.since)
    if f.until is not None:
        where.add("created_at < $until", until=f.until)
    if f.project is not None:
        where.add("project = $project", project=f.project)
    others = (f.service, f.model, f.session_id, f.user_id, f.tag)
    if any(value is not None for value in others):
        traces = trace_where(
            OverviewFilter(
                since=f.since,
                until=f.until,
                service=f.service,
                model=f.model,
                session_id=f.session_id,
                user_id=f.user_id,
                tag=f.tag,
            )
        )
        where.add(
            f"trace_id IN (SELECT trace_id FROM traces WHERE {traces.sql()})", **traces.params
        )
    return where


_SCORES_SQL = """
SELECT
    {bucket} AS bucket,
    name,
    count(*) AS scores,
    count(*) FILTER (WHERE status = 'errored') AS errored,
    avg(value) FILTER (WHERE status = 'ok') AS mean,
    (count(*) FILTER (WHERE status = 'ok' AND passed))::DOUBLE
        / nullif(count(*) FILTER (WHERE status = 'errored' OR passed IS NOT NULL), 0)
        AS pass_rate,
    arg_max(coalesce(direction, 'higher'), created_at) AS direction
FROM scores
WHERE {where}
GROUP BY GROUPING SETS ((bucket, name), (name))
ORDER BY name, bucket
"""
MAX_SCORE_ROWS = 200_000
"""Rows of one score-trend answer before the top evaluators are picked (buckets x names)."""


def score_trends(
    store: QuerySource, f: OverviewFilter, bucket_seconds: int | None = None
) -> dict[str, Any]:
    """Per evaluator (score name): scores, errored runs, mean value and pass rate, per time
    bucket and over the window; only the ``MAX_EVALUATORS`` with the most scores.

    One grouped scan; the busiest evaluators are picked from its totals (a top-N join in
    SQL cost three times the scan).
    """
    where = score_where(f)
    extent = score_where(OverviewFilter(since=f.since, until=f.until, project=f.project))
    window = resolve_window(store, f, extent, "scores.created_at", bucket_seconds)
    if window is None:
        return {"window": None, "evaluators": [], "series": [], "evaluator_count": 0}
    sql = _SCORES_SQL.format(bucket=BUCKET_SQL.format(column="created_at"), where=where.sql())
    params = {**where.params, "bucket_us": window.bucket_seconds * 1_000_000}
    result = store.query(sql, params, max_rows=MAX_SCORE_ROWS, timeout_s=QUERY_TIMEOUT_S)
    rows = result.records()
    totals = [r for r in rows if r["bucket"] is None]
    top = sorted(totals, key=lambda r: (-r["scores"], r["name"]))[:MAX_EVALUATORS]
    shown = {r["name"] for r in top}
    return {
        "window": window.to_json(),
        "evaluators": [_score_row(r) for r in top],
        "series": [
            {"bucket": r["bucket"], **_score_row(r)}
            for r in rows
            if r["bucket"] is not None and r["name"] in shown
        ],
        "evaluator_count": len(totals),
    }


def _score_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "scores": int(row["scores"]),
        "errored": int(row["errored"]),
        "mean": row["mean"],
        "pass_rate": row["pass_rate"],
        "direction": row["direction"],
    }


_FACETS_SQL = """
WITH picked AS (
    SELECT project, service_name, tags FROM traces WHERE {traces}
), counted AS (
    SELECT 'project' AS facet, project AS value, count(*) AS count FROM picked GROUP BY project
    UNION ALL
    SELECT 'service', service_name, count(*) FROM picked
    WHERE service_name IS NOT NULL GROUP BY service_name
    UNION ALL
    SELECT 'tag', tag, count(*) FROM (SELECT unnest(tags) AS tag FROM picked) GROUP BY tag
    UNION ALL
    SELECT 'model', model, count(*) FROM spans
    WHERE {spans} AND model IS NOT NULL GROUP BY model
)
SELECT facet, value, count FROM counted
QUALIFY row_number() OVER (PARTITION BY facet ORDER BY count DESC, value) <= $limit
ORDER BY facet, count DESC, value
"""


def facets(
    store: QuerySource,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = DEFAULT_FACET_LIMIT,
    project: str | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The choices of the Overview's filters in the window, most frequent first: projects,
    services and tags with their trace counts, models with their call counts (of one project
    when ``project`` is given)."""
    window = trace_where(OverviewFilter(since=since, until=until, project=project))
    sql = _FACETS_SQL.format(traces=window.sql(), spans=window.sql())
    result: dict[str, list[dict[str, Any]]] = {name: [] for name in FACETS}
    for row in run(store, sql, {**window.params, "limit": limit}):
        result[row["facet"]].append({"value": row["value"], "count": int(row["count"])})
    return result
