"""Tables of the evaluation layer (migrations 0020-0029): flags, flag clusters, evaluation
watermarks and the LLM-judge cache.

The DDL lives in the collector package because migrations run where the store opens; the
code that reads and writes these tables is in ``loopwise.evals``.
"""

from __future__ import annotations

import duckdb

FLAGS_DDL = """
CREATE TABLE flags (
    flag_id VARCHAR PRIMARY KEY,
    project VARCHAR NOT NULL,
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR,
    span_name VARCHAR,
    rule VARCHAR NOT NULL,
    cause_key VARCHAR NOT NULL UNIQUE,
    reason VARCHAR NOT NULL,
    severity VARCHAR NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    evaluator VARCHAR,
    evaluator_version VARCHAR,
    score_id VARCHAR,
    metric VARCHAR,
    value DOUBLE,
    status VARCHAR NOT NULL DEFAULT 'open',
    details VARCHAR,
    created_at TIMESTAMP NOT NULL
)
"""

FLAG_CLUSTERS_DDL = (
    """
CREATE TABLE flag_clusterings (
    clustering_id VARCHAR PRIMARY KEY,
    project VARCHAR,
    method VARCHAR NOT NULL,
    params VARCHAR,
    flag_count INTEGER NOT NULL,
    cluster_count INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
)
""",
    """
CREATE TABLE flag_clusters (
    clustering_id VARCHAR NOT NULL,
    flag_id VARCHAR NOT NULL,
    cluster_id VARCHAR NOT NULL,
    cluster_label VARCHAR NOT NULL,
    cluster_size INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (clustering_id, flag_id)
)
""",
)

EVAL_WATERMARKS_DDL = """
CREATE TABLE eval_watermarks (
    watermark_key VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    version VARCHAR,
    definition VARCHAR,
    last_rowid BIGINT NOT NULL,
    last_ingested_at TIMESTAMP,
    processed BIGINT NOT NULL DEFAULT 0,
    scored BIGINT NOT NULL DEFAULT 0,
    flagged BIGINT NOT NULL DEFAULT 0,
    last_error VARCHAR,
    last_error_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
)
"""

JUDGE_CACHE_DDL = """
CREATE TABLE judge_cache (
    cache_key VARCHAR PRIMARY KEY,
    evaluator VARCHAR NOT NULL,
    evaluator_version VARCHAR NOT NULL,
    model VARCHAR,
    result VARCHAR NOT NULL,
    input_tokens BIGINT,
    output_tokens BIGINT,
    created_at TIMESTAMP NOT NULL
)
"""


def create_flags_table(con: duckdb.DuckDBPyConnection) -> None:
    """Migration: the flags table (review items opened by rules; ``cause_key`` dedupes)."""
    con.execute(FLAGS_DDL)


def create_flag_cluster_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Migration: clusterings of flags, appended per run so re-clustering never overwrites."""
    for ddl in FLAG_CLUSTERS_DDL:
        con.execute(ddl)


def create_eval_watermarks_table(con: duckdb.DuckDBPyConnection) -> None:
    """Migration: how far each online evaluator configuration and rule has read."""
    con.execute(EVAL_WATERMARKS_DDL)


def create_judge_cache_table(con: duckdb.DuckDBPyConnection) -> None:
    """Migration: LLM-judge verdicts keyed by evaluator version, model and input."""
    con.execute(JUDGE_CACHE_DDL)


ALERTS_SENT_DDL = """
CREATE TABLE alerts_sent (
    alert_key VARCHAR PRIMARY KEY,
    rule VARCHAR NOT NULL,
    event VARCHAR NOT NULL,
    project VARCHAR,
    payload VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
)
"""


def create_alerts_sent_table(con: duckdb.DuckDBPyConnection) -> None:
    """Migration: alerts already raised (each is raised once)."""
    con.execute(ALERTS_SENT_DDL)
