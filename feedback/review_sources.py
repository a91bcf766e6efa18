"""Where review items come from besides a person's pick: flags raised by evaluator rules, and
end users' thumbs-down (human scores from ``source='end_user'`` that failed, have value 0
or the label down, as ``loopwise.collector.store.feedback`` stores a thumbs-down).

``sync_review_items`` opens one item per flag or thumbs-down that has none yet. It is
idempotent (item ids derive from the flag or score id) and cheap to run often: the
collector's feedback extension runs it in the background.
"""

from __future__ import annotations

from typing import Any

from loopwise.collector.store import Store

from .common import table_columns
from .reviews import item_seed, open_items

SYSTEM_ACTOR = "loopwise"
FLAG_COLUMNS = ("project", "span_id", "reason", "severity", "evaluator", "rule", "created_at")
THUMBS_DOWN_LABELS = ("down", "thumbs_down", "thumbs-down", "negative", "bad")

THUMBS_DOWN_SQL = """
SELECT s.score_id, s.project, s.trace_id, s.span_id, s.name, s.comment, s.label
FROM scores s
WHERE s.kind = 'human' AND s.source = 'end_user' AND s.status = 'ok'
  AND (s.passed = false OR s.value = 0 OR lower(s.label) IN ({labels}))
  AND NOT EXISTS (
      SELECT 1 FROM review_items r WHERE r.source = 'end_user' AND r.source_id = s.score_id
  )
ORDER BY s.created_at, s.score_id
LIMIT $limit
""".format(labels=", ".join(f"'{label}'" for label in THUMBS_DOWN_LABELS))


def sync_review_items(store: Store, *, limit: int = 10_000) -> dict[str, int]:
    """Open review items for new flags and new end-user thumbs-down; return how many of each
    were opened (at most ``limit`` of each per call)."""
    return {
        "flag": open_items(store, flag_seeds(store, limit=limit)),
        "end_user": open_items(store, thumbs_down_seeds(store, limit=limit)),
    }


def flag_seeds(store: Store, *, limit: int = 10_000) -> list[dict[str, Any]]:
    """Item rows for flags without a review item, read from the ``flags`` table when the
    database has one (it comes with the evaluator rules); only its ``flag_id`` and
    ``trace_id`` columns are required. Flags whose ``status`` is not ``open`` are skipped."""
    columns = table_columns(store, "flags")
    if not {"flag_id", "trace_id"} <= columns:
        return []
    picked = ", ".join(
        f"f.{name}" if name in columns else f"NULL AS {name}" for name in FLAG_COLUMNS
    )
    order = "f.created_at, f.flag_id" if "created_at" in columns else "f.flag_id"
    # Only a flags table without a project column needs the (scanning) lookup in spans.
    span_project = (
        "NULL"
        if "project" in columns
        else "(SELECT any_value(p.project) FROM spans p WHERE p.trace_id = f.trace_id)"
    )
    sql = f"""
        SELECT f.flag_id, f.trace_id, {picked}, {span_project} AS span_project
        FROM flags f
        WHERE {"f.status = 'open'" if "status" in columns else "true"}
          AND NOT EXISTS (
            SELECT 1 FROM review_items r WHERE r.source = 'flag' AND r.source_id = f.flag_id
        )
        ORDER BY {order}
        LIMIT $limit
    """
    seeds = []
    for row in store.query(sql, {"limit": limit}, max_rows=limit).records():
        reason = row["reason"] or (f"flagged by rule {row['rule']}" if row["rule"] else None)
        seeds.append(
            item_seed(
                project=str(row["project"] or row["span_project"] or "default"),
                trace_id=str(row["trace_id"]),
                span_id=str(row["span_id"]) if row["span_id"] else None,
                source="flag",
                source_id=str(row["flag_id"]),
                reason=reason,
                severity=str(row["severity"]) if row["severity"] is not None else None,
                evaluator=str(row["evaluator"]) if row["evaluator"] else None,
                created_by=SYSTEM_ACTOR,
            )
        )
    return seeds


def thumbs_down_seeds(store: Store, *, limit: int = 10_000) -> list[dict[str, Any]]:
    """Item rows for end-user thumbs-down scores without a review item."""
    seeds = []
    for row in store.query(THUMBS_DOWN_SQL, {"limit": limit}, max_rows=limit).records():
        reason = row["comment"] or f"end user gave {row['name']} a thumbs-down"
        seeds.append(
            item_seed(
                project=row["project"],
                trace_id=row["trace_id"],
                span_id=row["span_id"],
                source="end_user",
                source_id=row["score_id"],
                reason=reason,
                created_by=SYSTEM_ACTOR,
            )
        )
    return seeds
