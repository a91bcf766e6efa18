"""Read queries behind the collector's JSON API and the dashboard."""

from __future__ import annotations

from typing import Any

from .store import QueryResult, Store

RECENT_TRACES_SQL = """
WITH recent AS (
    SELECT trace_id, max(start_time) AS last_start
    FROM spans
    WHERE ($project IS NULL OR project = $project)
    GROUP BY trace_id
    ORDER BY last_start DESC, trace_id
    LIMIT $limit OFFSET $offset
)
SELECT
    s.trace_id,
    any_value(s.project) AS project,
    coalesce(
        arg_min(s.name, s.start_time) FILTER (WHERE s.parent_span_id IS NULL),
        arg_min(s.name, s.start_time)
    ) AS root_name,
    min(s.start_time) AS start_time,
    date_diff('microsecond', min(s.start_time), max(s.end_time)) / 1000.0 AS duration_ms,
    count(*) AS span_count,
    count(*) FILTER (WHERE s.status = 'error') AS error_count,
    sum(s.total_tokens) AS total_tokens,
    sum(s.cost_usd) AS cost_usd,
    any_value(s.session_id) AS session_id,
    any_value(s.user_id) AS user_id
FROM spans s JOIN recent r USING (trace_id)
GROUP BY s.trace_id
ORDER BY max(r.last_start) DESC, s.trace_id
"""

TRACE_SPANS_SQL = """
SELECT * EXCLUDE (attributes, resource, events, metadata),
       raw_attributes(attributes, input, output) AS attributes, resource, events, metadata
FROM spans WHERE trace_id = ? ORDER BY start_time, span_id
"""


def recent_traces(
    store: Store, *, limit: int = 50, offset: int = 0, project: str | None = None
) -> QueryResult:
    """One summary row per trace, newest first, paginated."""
    return store.query(RECENT_TRACES_SQL, {"limit": limit, "offset": offset, "project": project})


def trace_spans(store: Store, trace_id: str) -> list[dict[str, Any]]:
    """Every span of one trace, in start order."""
    return store.query(TRACE_SPANS_SQL, [trace_id]).records()


def span_tree(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nest spans under their parents; spans whose parent is absent become roots.

    Parent links that form a cycle (bad input: a is b's parent and b is a's) would leave those
    spans out of the tree; the first span of each cycle becomes a root instead.
    """
    by_id = {span["span_id"]: {**span, "children": []} for span in spans}
    roots: list[dict[str, Any]] = []
    for node in by_id.values():
        parent = by_id.get(node.get("parent_span_id") or "")
        if parent is not None and parent is not node:
            parent["children"].append(node)
        else:
            roots.append(node)
    reached: set[int] = set()

    def reach(start: dict[str, Any]) -> None:
        stack = [start]
        while stack:
            node = stack.pop()
            reached.add(id(node))
            stack.extend(node["children"])

    for root in roots:
        reach(root)
    for node in by_id.values():
        if id(node) not in reached:  # on a cycle: cut it at this span
            siblings = by_id[node["parent_span_id"]]["children"]
            siblings[:] = [child for child in siblings if child is not node]
            roots.append(node)
            reach(node)
    return roots
