"""Read queries behind the evaluation API: flags, flag clusters and scores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loopwise.collector.store import QuerySource

LATEST_ASSIGNMENTS = """
latest AS (
    SELECT project, arg_max(clustering_id, created_at) AS clustering_id
    FROM flag_clusterings GROUP BY project
),
assigned AS (
    SELECT fc.flag_id, fc.cluster_id, fc.cluster_label
    FROM flag_clusters fc JOIN latest l ON fc.clustering_id = l.clustering_id
)
"""

FLAGS_SQL = f"""
WITH {LATEST_ASSIGNMENTS},
matching AS (
    SELECT f.*, a.cluster_id, a.cluster_label
    FROM flags f LEFT JOIN assigned a ON a.flag_id = f.flag_id
    WHERE ($project IS NULL OR f.project = $project)
      AND ($rule IS NULL OR f.rule = $rule)
      AND ($severity IS NULL OR f.severity = $severity)
      AND ($status IS NULL OR f.status = $status)
      AND ($cluster IS NULL OR a.cluster_id = $cluster)
      AND ($trace_id IS NULL OR f.trace_id = $trace_id)
)
SELECT m.*, left(s.output, 300) AS output_preview, count(*) OVER () AS total
FROM matching m
LEFT JOIN spans s ON s.trace_id = m.trace_id AND s.span_id = m.span_id
ORDER BY m.created_at DESC, m.flag_id
LIMIT $limit OFFSET $offset
"""

CLUSTERS_SQL = f"""
WITH {LATEST_ASSIGNMENTS}
SELECT f.project, a.cluster_id, any_value(a.cluster_label) AS label, count(*) AS count,
       list(DISTINCT f.rule) AS rules,
       CASE max(CASE f.severity WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END)
            WHEN 3 THEN 'high' WHEN 2 THEN 'medium' ELSE 'low' END AS severity,
       count(*) FILTER (WHERE f.status = 'open') AS open,
       (list(f.flag_id ORDER BY f.created_at DESC))[1:3] AS examples,
       max(f.created_at) AS last_flagged_at
FROM flags f JOIN assigned a ON a.flag_id = f.flag_id
WHERE ($project IS NULL OR f.project = $project)
GROUP BY f.project, a.cluster_id
ORDER BY count DESC, a.cluster_id
"""

UNCLUSTERED_SQL = f"""
WITH {LATEST_ASSIGNMENTS}
SELECT count(*) FROM flags f LEFT JOIN assigned a ON a.flag_id = f.flag_id
WHERE a.flag_id IS NULL AND ($project IS NULL OR f.project = $project)
"""

SCORES_SQL = """
SELECT * , count(*) OVER () AS total FROM scores
WHERE ($trace_id IS NULL OR trace_id = $trace_id)
  AND ($span_id IS NULL OR span_id = $span_id)
  AND ($name IS NULL OR name = $name)
  AND ($project IS NULL OR project = $project)
ORDER BY created_at DESC, score_id
LIMIT $limit OFFSET $offset
"""


@dataclass(frozen=True)
class Page:
    """One page of rows and the total across all pages."""

    rows: list[dict[str, Any]]
    total: int


def _page(records: list[dict[str, Any]]) -> Page:
    total = int(records[0].pop("total")) if records else 0
    for record in records[1:]:
        record.pop("total", None)
    return Page(records, total)


def list_flags(
    store: QuerySource,
    *,
    project: str | None = None,
    rule: str | None = None,
    severity: str | None = None,
    status: str | None = None,
    cluster: str | None = None,
    trace_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Flags, newest first, with their cluster in the latest clustering of their project."""
    params = {
        "project": project,
        "rule": rule,
        "severity": severity,
        "status": status,
        "cluster": cluster,
        "trace_id": trace_id,
        "limit": limit,
        "offset": offset,
    }
    return _page(store.query(FLAGS_SQL, params, max_rows=limit).records())


def flag_clusters(store: QuerySource, *, project: str | None = None) -> dict[str, Any]:
    """The latest clustering of each project: clusters with counts, labels and examples."""
    clusters = store.query(CLUSTERS_SQL, {"project": project}).records()
    unclustered = store.query(UNCLUSTERED_SQL, {"project": project}).rows[0][0]
    return {"clusters": clusters, "unclustered": int(unclustered)}


def list_scores(
    store: QuerySource,
    *,
    trace_id: str | None = None,
    span_id: str | None = None,
    name: str | None = None,
    project: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page:
    """Scores, newest first, filtered by trace, span, score name and project."""
    params = {
        "trace_id": trace_id,
        "span_id": span_id,
        "name": name,
        "project": project,
        "limit": limit,
        "offset": offset,
    }
    return _page(store.query(SCORES_SQL, params, max_rows=limit).records())
