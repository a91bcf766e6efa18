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

INSERT_SCORES_SQL = f"""
INSERT OR IGNORE INTO scores
    (score_id, project, trace_id, span_id, name, value, label, passed, explanation, kind,
     source, evaluator_version, status, error, metadata, created_at, direction)
SELECT {SCORE_ID}, project, trace_id, span_id, ?, value, label, passed, explanation, ?, ?, ?,
       status, error,
       CASE WHEN metadata IS NULL THEN ?
            ELSE json_merge_patch(?, metadata)::VARCHAR END,
       ?, ?
FROM _eval_results
"""

INSERT_FLAGS_SQL = f"""
INSERT OR IGNORE INTO flags
    (flag_id, project, trace_id, span_id, span_name, rule, cause_key, reason, severity,
     evaluator, evaluator_version, score_id, metric, value, status, details, created_at)
SELECT md5(cause_key), project, trace_id, span_id, span_name, ?, cause_key,
       left(? || coalesce(': ' || explanation, ': ' || label, ''), 2000), ?, ?, ?,
       {SCORE_ID}, NULL, value, 'open', ?, ?
FROM (
    SELECT *, ? || '|' || trace_id || '|' || coalesce(span_id, '-') AS cause_key
    FROM _eval_results
    WHERE {{condition}}
)
"""


def store_results(
    cur: duckdb.DuckDBPyConnection,
    result: EvaluationResult,
    *,
    id_prefix: str,
    source: str | None = None,
    rules: Sequence[ThresholdRule] = (),
    metadata: Mapping[str, Any] | None = None,
    created_at: dt.datetime | None = None,
) -> tuple[int, int]:
    """Append ``result``'s scores, and the flags ``rules`` open from them; return
    (scores added, flags added). Runs inside the caller's transaction."""
    if result.count == 0:
        return 0, 0
    evaluator = result.evaluator
    created = created_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    meta = json.dumps(dict(metadata or {}), default=str, sort_keys=True)
    cur.register("_eval_results", result.table)
    try:
        row = cur.execute(
            INSERT_SCORES_SQL,
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
            row = cur.execute(
                INSERT_FLAGS_SQL.format(condition=condition),
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
