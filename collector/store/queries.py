"""Read queries behind the collector's JSON API and the dashboard."""

from __future__ import annotations

from typing import Any

from .store import QueryResult, QuerySource

RECENT_TRACES_SQL = """
SELECT trace_id, project, root_name, start_time,
       date_diff('microsecond', start_time, end_time) / 1000.0 AS duration_ms,
       span_count, error_count, total_tokens, cost_usd, session_id, user_id
FROM traces
WHERE ($project IS NULL OR project = $project)
ORDER BY start_time DESC, trace_id DESC
LIMIT $limit OFFSET $offset
"""

TRACE_SPANS_SQL = """
SELECT * EXCLUDE (attributes, resource, events, metadata),
       raw_attributes(attributes, input, output) AS attributes, resource, events, metadata
FROM spans WHERE trace_id = ? ORDER BY start_time, span_id
"""


def recent_traces(
    store: QuerySource, *, limit: int = 50, offset: int = 0, project: str | None = None
) -> QueryResult:
    """One summary row per trace (from the ``traces`` table), newest first, paginated."""
    return store.query(RECENT_TRACES_SQL, {"limit": limit, "offset": offset, "project": project})


def trace_spans(store: QuerySource, trace_id: str) -> list[dict[str, Any]]:
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
