"""Storing evaluation results: score rows, and the flags threshold rules open from them.

Both are set-based SQL over the registered Arrow results, inside the caller's transaction.
Score ids are ``md5(prefix | trace_id | span_id)``: online the prefix names the evaluator
configuration, so re-processing a window cannot add a second score for a span; offline it
names the run, so each run appends its own rows. Flag ids are ``md5(cause_key)``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

from .rules import ThresholdRule
from .runner import EvaluationResult

SCORE_ID = "md5(? || '|' || trace_id || '|' || coalesce(span_id, '-'))"

SCORE_COLUMNS = (
    "score_id, project, trace_id, span_id, name, value, label, passed, explanation, kind, "
    "source, evaluator_version, status, error, metadata, created_at, direction"
)
SELECT_SCORES_SQL = f"""
SELECT {SCORE_ID} AS score_id, project, trace_id, span_id, ?, value, label, passed,
       explanation, ?, ?, ?, status, error,
       CASE WHEN metadata IS NULL THEN ?
            ELSE json_merge_patch(?, metadata)::VARCHAR END,
       ?, ?
FROM _eval_results
"""

FLAG_COLUMNS = (
    "flag_id, project, trace_id, span_id, span_name, rule, cause_key, reason, severity, "
    "evaluator, evaluator_version, score_id, metric, value, status, details, created_at"
)
SELECT_FLAGS_SQL = f"""
SELECT md5(cause_key) AS flag_id, project, trace_id, span_id, span_name, ?, cause_key,
       left(? || coalesce(': ' || explanation, ': ' || label, ''), 2000), ?, ?, ?,
       {SCORE_ID}, NULL, value, 'open', ?, ?
FROM (
    SELECT *, ? || '|' || trace_id || '|' || coalesce(span_id, '-') AS cause_key
    FROM _eval_results
    WHERE {{condition}}
)
"""


def _insert_sql(table: str, columns: str, select: str, key: str, *, keyed: bool) -> str:
    """Insert the rows of ``select`` not already in ``table``: a keyed table ignores the
    repeats itself; a table without keys (a lake's) skips ids already stored for the
    batch's traces."""
    if keyed:
        return f"INSERT OR IGNORE INTO {table} ({columns}) SELECT * FROM ({select}) AS n"
    return (
        f"INSERT INTO {table} ({columns}) SELECT * FROM ({select}) AS n "
        f"WHERE n.{key} NOT IN (SELECT {key} FROM {table} "
        "WHERE trace_id IN (SELECT trace_id FROM _eval_results))"
    )


def store_results(
    cur: duckdb.DuckDBPyConnection,
    result: EvaluationResult,
    *,
    id_prefix: str,
    source: str | None = None,
    rules: Sequence[ThresholdRule] = (),
    metadata: Mapping[str, Any] | None = None,
    created_at: dt.datetime | None = None,
    keyed: bool = True,
) -> tuple[int, int]:
    """Append ``result``'s scores, and the flags ``rules`` open from them; return
    (scores added, flags added). Runs inside the caller's transaction. ``keyed`` is False
    for tables without primary keys (a lake's): repeats are then skipped by id."""
    if result.count == 0:
        return 0, 0
    evaluator = result.evaluator
    created = created_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    meta = json.dumps(dict(metadata or {}), default=str, sort_keys=True)
    cur.register("_eval_results", result.table)
    try:
        row = cur.execute(
            _insert_sql("scores", SCORE_COLUMNS, SELECT_SCORES_SQL, "score_id", keyed=keyed),
            [
                id_prefix,
                evaluator.name,
                evaluator.kind,
                source or evaluator.name,
                evaluator.version,
                meta,
                meta,
                created,
                evaluator.direction,
            ],
        ).fetchall()[0]
        scored = int(row[0]) if row else 0
        flagged = 0
        for rule in rules:
            if rule.evaluator != evaluator.name:
                continue
            condition, params = rule.condition_sql()
            details = json.dumps({"rule": rule.to_dict()}, default=str)
            select = SELECT_FLAGS_SQL.format(condition=condition)
            row = cur.execute(
                _insert_sql("flags", FLAG_COLUMNS, select, "flag_id", keyed=keyed),
                [
                    rule.name,
                    rule.describe(),
                    rule.severity,
                    evaluator.name,
                    evaluator.version,
                    id_prefix,
                    details,
                    created,
                    rule.name,
                    *params,
                ],
            ).fetchall()[0]
            flagged += int(row[0]) if row else 0
    finally:
        cur.unregister("_eval_results")
    return scored, flagged
