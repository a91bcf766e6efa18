"""Reading review items: the queue (current states derived from the latest events), one
item, and its full history."""

from __future__ import annotations

from typing import Any

from loopwise.collector.store import Store, root_causes_of

from .errors import FeedbackError, NotFound
from .review_model import SOURCES, STATES, ReviewEvent, ReviewItem

ITEMS_SQL = """
WITH latest AS (
    SELECT item_id, max(version) AS version FROM review_events
    WHERE CAST($item_id AS VARCHAR) IS NULL OR item_id = CAST($item_id AS VARCHAR)
    GROUP BY item_id
)
SELECT i.*, e.state, e.assignee, e.version, e.created_at AS updated_at, s.name AS span_name
FROM review_items i
JOIN latest l USING (item_id)
JOIN review_events e ON e.item_id = l.item_id AND e.version = l.version
LEFT JOIN spans s ON s.trace_id = i.trace_id AND s.span_id = i.span_id
WHERE (CAST($item_id AS VARCHAR) IS NULL OR i.item_id = CAST($item_id AS VARCHAR))
  AND (CAST($state AS VARCHAR) IS NULL OR e.state = CAST($state AS VARCHAR)
       OR (CAST($state AS VARCHAR) = 'open' AND e.state = 'held'))
  AND (CAST($project AS VARCHAR) IS NULL OR i.project = CAST($project AS VARCHAR))
  AND (CAST($assignee AS VARCHAR) IS NULL OR e.assignee = CAST($assignee AS VARCHAR))
  AND (CAST($source AS VARCHAR) IS NULL OR i.source = CAST($source AS VARCHAR))
  AND (CAST($trace_id AS VARCHAR) IS NULL OR i.trace_id = CAST($trace_id AS VARCHAR))
ORDER BY e.state = 'held' DESC, i.created_at DESC, i.item_id
LIMIT $limit OFFSET $offset
"""
EVENTS_SQL = "SELECT * FROM review_events WHERE item_id = ? ORDER BY version"


def list_items(
    store: Store,
    *,
    state: str | None = None,
    project: str | None = None,
    assignee: str | None = None,
    source: str | None = None,
    trace_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[ReviewItem]:
    """Review items, held ones first, then newest first, filtered by current state (``open``
    includes held items: both await a reviewer), project, assignee or source."""
    if state is not None and state not in STATES:
        raise FeedbackError(f"unknown state {state!r}; expected one of {', '.join(STATES)}")
    if source is not None and source not in SOURCES:
        raise FeedbackError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    return _items(
        store,
        item_id=None,
        state=state,
        project=project,
        assignee=assignee,
        source=source,
        trace_id=trace_id,
        limit=limit,
        offset=offset,
    )


def get_item(store: Store, item_id: str) -> ReviewItem:
    """One review item with its current state; NotFound when there is none."""
    found = _items(
        store,
        item_id=item_id,
        state=None,
        project=None,
        assignee=None,
        source=None,
        trace_id=None,
        limit=1,
        offset=0,
    )
    if not found:
        raise NotFound(f"no review item {item_id}")
    return found[0]


def item_history(store: Store, item_id: str) -> list[ReviewEvent]:
    """Every event of an item, oldest first."""
    return [ReviewEvent(**row) for row in store.query(EVENTS_SQL, [item_id]).records()]


def _items(store: Store, **params: Any) -> list[ReviewItem]:
    """Items with the root-cause step of their trace, so a queue can group a trace's items
    under the step that went wrong first."""
    rows = store.query(ITEMS_SQL, params).records()
    causes = root_causes_of(store, [row["trace_id"] for row in rows])
    items = []
    for row in rows:
        cause = causes.get(row["trace_id"])
        if cause is not None:
            row["root_cause_span_id"] = cause["span_id"]
            row["root_cause_name"] = cause["name"]
            row["root_cause_reasons"] = tuple(cause["reasons"])
        items.append(ReviewItem(**row))
    return items
