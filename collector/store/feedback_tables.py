"""Tables of the feedback loop: review items and their events, corrections, versioned
datasets and the prompt registry (migrations 0030-0039).

Everything here is append-only: a review action, a label move or a dataset change adds rows;
the current state is derived from the latest ones, so no history is ever lost. The logic
lives in ``loopwise.feedback``; the collector only creates the tables (it imports nothing
above it) and the SDK reads prompts through ``PROMPT_RESOLVE_SQL``.
"""

from __future__ import annotations

import duckdb

REVIEW_TABLES_DDL = (
    # One row per review item, written once. ``source`` is flag, manual or end_user;
    # ``source_id`` the flag or score behind it (null for a manual pick).
    """
    CREATE TABLE review_items (
        item_id VARCHAR PRIMARY KEY,
        project VARCHAR NOT NULL,
        trace_id VARCHAR NOT NULL,
        span_id VARCHAR,
        source VARCHAR NOT NULL,
        source_id VARCHAR,
        reason VARCHAR,
        severity VARCHAR,
        evaluator VARCHAR,
        created_by VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL
    )
    """,
    # Every action on an item, numbered 1, 2, 3... per item. ``state`` and ``assignee`` hold
    # their values after the event, so the current state is the latest row.
    """
    CREATE TABLE review_events (
        item_id VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        event_id VARCHAR NOT NULL UNIQUE,
        action VARCHAR NOT NULL,
        state VARCHAR NOT NULL,
        assignee VARCHAR,
        actor VARCHAR NOT NULL,
        comment VARCHAR,
        correction_id VARCHAR,
        created_at TIMESTAMP NOT NULL,
        PRIMARY KEY (item_id, version)
    )
    """,
)

CORRECTIONS_DDL = """
    CREATE TABLE corrections (
        correction_id VARCHAR PRIMARY KEY,
        item_id VARCHAR,
        project VARCHAR NOT NULL,
        trace_id VARCHAR NOT NULL,
        span_id VARCHAR,
        original_output VARCHAR,
        corrected_output VARCHAR NOT NULL,
        reason VARCHAR,
        verdicts VARCHAR,
        author VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL
    )
"""

DATASET_TABLES_DDL = (
    # Examples are content-addressed (example_id is a hash of their content) and shared by
    # every version and dataset that holds them. input, expected and metadata are JSON text.
    """
    CREATE TABLE dataset_examples (
        example_id VARCHAR PRIMARY KEY,
        input VARCHAR NOT NULL,
        expected VARCHAR,
        metadata VARCHAR,
        source_trace_id VARCHAR,
        source_span_id VARCHAR,
        created_at TIMESTAMP NOT NULL
    )
    """,
    """
    CREATE TABLE dataset_versions (
        dataset VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        description VARCHAR,
        message VARCHAR,
        author VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        example_count INTEGER NOT NULL,
        PRIMARY KEY (dataset, version)
    )
    """,
    # The full membership of every version, so any old version is reproducible as it was.
    """
    CREATE TABLE dataset_members (
        dataset VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        position INTEGER NOT NULL,
        example_id VARCHAR NOT NULL,
        PRIMARY KEY (dataset, version, position)
    )
    """,
)

PROMPT_TABLES_DDL = (
    # variables is a JSON list of names, model_params a JSON object.
    """
    CREATE TABLE prompt_versions (
        name VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        template VARCHAR NOT NULL,
        variables VARCHAR NOT NULL,
        model_params VARCHAR NOT NULL,
        message VARCHAR,
        author VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        proposal_id VARCHAR,
        PRIMARY KEY (name, version)
    )
    """,
    # Label moves, numbered per (name, label); version null means the label was removed.
    """
    CREATE TABLE prompt_labels (
        name VARCHAR NOT NULL,
        label VARCHAR NOT NULL,
        seq INTEGER NOT NULL,
        version INTEGER,
        actor VARCHAR NOT NULL,
        reason VARCHAR,
        created_at TIMESTAMP NOT NULL,
        PRIMARY KEY (name, label, seq)
    )
    """,
    """
    CREATE TABLE prompt_proposals (
        proposal_id VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        base_version INTEGER NOT NULL,
        template VARCHAR NOT NULL,
        variables VARCHAR NOT NULL,
        model_params VARCHAR NOT NULL,
        rationale VARCHAR,
        correction_ids VARCHAR NOT NULL,
        author VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL
    )
    """,
    # A proposal is decided once: adopted (by a person, creating ``version``) or rejected.
    """
    CREATE TABLE prompt_proposal_decisions (
        proposal_id VARCHAR PRIMARY KEY,
        decision VARCHAR NOT NULL,
        version INTEGER,
        actor VARCHAR NOT NULL,
        reason VARCHAR,
        created_at TIMESTAMP NOT NULL
    )
    """,
)

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


def create_review_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Migration: review items and their append-only events."""
    for ddl in REVIEW_TABLES_DDL:
        con.execute(ddl)


def create_corrections_table(con: duckdb.DuckDBPyConnection) -> None:
    """Migration: corrections made by reviewers."""
    con.execute(CORRECTIONS_DDL)


def create_dataset_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Migration: versioned datasets."""
    for ddl in DATASET_TABLES_DDL:
        con.execute(ddl)


def create_prompt_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Migration: the prompt registry (versions, labels, proposals)."""
    for ddl in PROMPT_TABLES_DDL:
        con.execute(ddl)


HELD_OUTPUTS_DDL = """
CREATE TABLE held_outputs (
    item_id VARCHAR PRIMARY KEY,
    project VARCHAR NOT NULL,
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR,
    input VARCHAR,
    output VARCHAR NOT NULL,
    check_result VARCHAR,  -- JSON text of the check that held it
    created_at TIMESTAMP NOT NULL
)
"""


def create_held_outputs_table(con: duckdb.DuckDBPyConnection) -> None:
    """Migration: what a workflow held for a person (its span may not be stored yet)."""
    con.execute(HELD_OUTPUTS_DDL)


PROJECT_RESOURCES_DDL = """
CREATE TABLE project_resources (
    kind VARCHAR NOT NULL,      -- dataset, prompt, eval_run
    name VARCHAR NOT NULL,
    project VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, name)
)
"""


def create_project_resources_table(con: duckdb.DuckDBPyConnection) -> None:
    """Migration: which project a dataset, prompt or eval run made with a project key belongs
    to (those tables are shared by the instance; a project key sees only what it owns)."""
    con.execute(PROJECT_RESOURCES_DDL)
