"""Which step of a trace went wrong first: the root-cause span.

A span *fails* when its status is error or a score on it did not pass (code, judge or human).
When several spans of one trace fail, most failures are consequences: a parent chain fails
because a child did, and a reply invents an order id because the retrieval before it came back
empty. So a failing span is *explained* when another failing span of the trace lies within it
(a descendant: its time interval is inside the span's) or ended before it started (a step
upstream of it). The root cause is the earliest failing span that nothing explains: the first
step whose inputs were fine and whose output was not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from .store import QuerySource

_FAILING_SQL = """
WITH failing AS (
    SELECT s.trace_id, s.span_id, s.name, s.kind, s.project, s.start_time, s.end_time,
           list_distinct(list(f.reason) FILTER (WHERE f.reason IS NOT NULL)) AS reasons
    FROM spans s
    JOIN (
        SELECT trace_id, span_id, 'error status' AS reason FROM spans
        WHERE status = 'error' AND {span_where}
        UNION ALL
        SELECT trace_id, span_id, name AS reason FROM scores
        WHERE passed = false AND status = 'ok' AND span_id IS NOT NULL AND {score_where}
    ) f USING (trace_id, span_id)
    GROUP BY ALL
),
roots AS (
    SELECT a.* FROM failing a
    WHERE NOT EXISTS (
        SELECT 1 FROM failing b
        WHERE b.trace_id = a.trace_id AND b.span_id <> a.span_id
          AND ((b.start_time >= a.start_time AND b.end_time <= a.end_time
                AND (b.start_time > a.start_time OR b.end_time < a.end_time))
               OR b.end_time <= a.start_time)
    )
)
SELECT * EXCLUDE (rank) FROM (
    SELECT *, row_number() OVER (PARTITION BY trace_id ORDER BY start_time, span_id) AS rank
    FROM roots
) WHERE rank = 1
"""


def _failing_sql(where: str, score_where: str) -> str:
    return _FAILING_SQL.format(span_where=where, score_where=score_where)


def trace_root_cause(store: QuerySource, trace_id: str) -> dict[str, Any] | None:
    """The root-cause span of one trace (span_id, name, kind, reasons), or None."""
    return root_causes_of(store, [trace_id]).get(trace_id)


def root_causes_of(store: QuerySource, trace_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The root-cause span of each of ``trace_ids`` that has one, by trace id (one query)."""
    ids = sorted(set(trace_ids))
    if not ids:
        return {}
    where = "trace_id IN (SELECT unnest(CAST($trace_ids AS VARCHAR[])))"
    rows = store.query(_failing_sql(where, where), {"trace_ids": ids}).records()
    return {
        row["trace_id"]: {
            "span_id": row["span_id"],
            "name": row["name"],
            "kind": row["kind"],
            "reasons": sorted(row["reasons"] or []),
        }
        for row in rows
    }


def root_cause_counts(
    store: QuerySource,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    project: str | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Failing traces counted by the step that went wrong first (span name and kind), most
    first: which step of the workflow to fix."""
    window = (
        "trace_id IN (SELECT trace_id FROM traces WHERE ($since IS NULL OR start_time >= $since)"
        " AND ($until IS NULL OR start_time < $until)"
        " AND ($project IS NULL OR project = $project))"
    )
    sql = (
        "SELECT name, kind, count(*) AS traces, list(trace_id ORDER BY start_time DESC)[1:3]"
        f" AS example_traces FROM ({_failing_sql(window, window)}) GROUP BY name, kind"
        " ORDER BY traces DESC, name LIMIT $limit"
    )
    params = {"since": since, "until": until, "project": project, "limit": limit}
    return [{**row, "traces": int(row["traces"])} for row in store.query(sql, params).records()]
