"""Scores compared per prompt version: every score in a trace whose spans were rendered from
the prompt (``loopwise.prompt.name``/``loopwise.prompt.version`` in their raw attributes)
counts for that version."""

from __future__ import annotations

from typing import Any

from loopwise.collector.sdk import PROMPT_NAME, PROMPT_VERSION
from loopwise.collector.store import Store

from .common import check_name
from .spans import attribute_sql

SCORES_BY_VERSION_SQL = f"""
WITH used AS (
    SELECT trace_id, max(TRY_CAST({attribute_sql(PROMPT_VERSION)} AS INTEGER)) AS version
    FROM spans
    WHERE {attribute_sql(PROMPT_NAME)} = $name
      AND (CAST($project AS VARCHAR) IS NULL OR project = CAST($project AS VARCHAR))
    GROUP BY trace_id
)
SELECT u.version AS prompt_version, s.name, s.kind, count(*) AS scores,
       count(*) FILTER (WHERE s.status = 'errored') AS errored,
       count(DISTINCT s.trace_id) AS traces,
       avg(s.value) FILTER (WHERE s.status = 'ok') AS mean_value,
       (count(*) FILTER (WHERE s.status = 'ok' AND s.passed))::DOUBLE
           / nullif(count(*) FILTER (WHERE s.status = 'errored' OR s.passed IS NOT NULL), 0)
           AS pass_rate,
       arg_max(coalesce(s.direction, 'higher'), s.created_at) AS direction
FROM scores s JOIN used u USING (trace_id)
GROUP BY ALL
ORDER BY prompt_version NULLS FIRST, s.name, s.kind
"""


def scores_by_prompt_version(
    store: Store, name: Any, *, project: str | None = None
) -> list[dict[str, Any]]:
    """Per prompt version (None: a fallback template) and score name/kind: how many
    scores (and errored ones) and traces, the mean value of decided scores, which way it is
    better (``direction``) and the pass rate (errored scores count against it, as on the
    Overview)."""
    prompt = check_name(name, "prompt")
    return store.query(SCORES_BY_VERSION_SQL, {"name": prompt, "project": project}).records()
