"""The prompt registry's read SQL, shared by the SDK (``loopwise.prompt``, local mode) and
the feedback package. The tables themselves are created by the frozen migrations
(``migration_sql.py``); everything about them is append-only, current states derived."""

from __future__ import annotations

PROMPT_LABELS_NOW_SQL = """
SELECT label, arg_max_null(version, seq) AS version
FROM prompt_labels WHERE name = $name GROUP BY label
"""

PROMPT_RESOLVE_SQL = """
WITH args AS (
    SELECT CAST($name AS VARCHAR) AS name, CAST($label AS VARCHAR) AS label,
           CAST($version AS INTEGER) AS version
),
labelled AS (
    SELECT arg_max_null(l.version, l.seq) AS version
    FROM prompt_labels l, args a WHERE l.name = a.name AND l.label = a.label
),
wanted AS (
    SELECT CASE
        WHEN a.version IS NOT NULL THEN a.version
        WHEN a.label = 'latest' THEN (
            SELECT max(p.version) FROM prompt_versions p WHERE p.name = a.name
        )
        ELSE (SELECT version FROM labelled)
    END AS version
    FROM args a
)
SELECT p.name, p.version, p.template, p.variables, p.model_params, p.created_at
FROM prompt_versions p JOIN wanted w ON p.version = w.version
WHERE p.name = CAST($name AS VARCHAR)
"""
"""One prompt version by ``$version`` or else by ``$label`` (``latest``: the newest)."""
