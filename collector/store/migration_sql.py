# ruff: noqa: E501 -- frozen text: rewrapping a shipped statement would change it
"""The shipped migrations as frozen SQL: the statements each one runs, in order.

Written out once from what each migration executed, so editing a column tuple in
``schema.py`` (or any DDL helper) can never change a migration that has shipped. A schema
change is a new entry at the end; ``tests/collector/test_migrations.py`` pins a checksum of
every entry and checks that a fresh database has the columns the live code expects.
"""

from __future__ import annotations

from typing import Any

Statement = tuple[str, list[Any] | None]
"""One SQL statement and its parameters (None: none)."""

FROZEN_MIGRATIONS: tuple[tuple[str, tuple[Statement, ...]], ...] = (
    (
        "0001_create_spans",
        (
            (
                """
CREATE TABLE spans (
    project VARCHAR NOT NULL,
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    parent_span_id VARCHAR,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    status_message VARCHAR,
    start_time TIMESTAMP NOT NULL,
    end_time TIMESTAMP NOT NULL,
    duration_ms DOUBLE NOT NULL,
    service_name VARCHAR,
    model VARCHAR,
    provider VARCHAR,
    input VARCHAR,
    output VARCHAR,
    input_tokens BIGINT,
    output_tokens BIGINT,
    total_tokens BIGINT,
    cost_usd DOUBLE,
    session_id VARCHAR,
    user_id VARCHAR,
    tags VARCHAR[],
    metadata VARCHAR,
    attributes VARCHAR,
    resource VARCHAR,
    events VARCHAR,
    ingested_at TIMESTAMP NOT NULL,
    PRIMARY KEY (trace_id, span_id)
)
""",
                None,
            ),
        ),
    ),
    (
        "0002_raw_attributes_macro",
        (
            (
                """
CREATE MACRO raw_attributes(attributes, input, output) AS
    replace(
        replace(
            attributes, '{"$column":"input"}', coalesce(to_json(input)::VARCHAR, 'null')
        ),
        '{"$column":"output"}', coalesce(to_json(output)::VARCHAR, 'null')
    )
""",
                None,
            ),
        ),
    ),
    (
        "0003_create_scores",
        (
            (
                """
CREATE TABLE scores (
    score_id VARCHAR PRIMARY KEY,
    project VARCHAR NOT NULL,
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR,
    name VARCHAR NOT NULL,
    value DOUBLE,
    label VARCHAR,
    passed BOOLEAN,
    explanation VARCHAR,
    kind VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    evaluator_version VARCHAR,
    status VARCHAR NOT NULL,
    error VARCHAR,
    author VARCHAR,
    comment VARCHAR,
    metadata VARCHAR,
    created_at TIMESTAMP NOT NULL
)
""",
                None,
            ),
        ),
    ),
    (
        "0004_scores_direction",
        (
            (
                """
ALTER TABLE scores ADD COLUMN direction VARCHAR DEFAULT 'higher'
""",
                None,
            ),
            (
                """
UPDATE scores SET direction = 'lower' WHERE kind = 'code' AND evaluator_version = '1' AND list_contains(?, name)
""",
                [
                    [
                        "latency_threshold",
                        "token_threshold",
                        "cost_threshold",
                        "invented_identifiers",
                        "pii_leakage",
                    ]
                ],
            ),
            (
                """
UPDATE scores SET direction = 'none' WHERE kind = 'code' AND evaluator_version = '1' AND list_contains(?, name)
""",
                [["length_bounds"]],
            ),
            (
                """
UPDATE scores SET value = passed::DOUBLE WHERE kind = 'code' AND evaluator_version = '1' AND list_contains(?, name) AND passed IS NOT NULL AND value IS NOT NULL
""",
                [["error_status", "refusal", "language_mismatch", "regex", "contains"]],
            ),
        ),
    ),
    (
        "0010_spans_ingest_warnings",
        (
            (
                """
ALTER TABLE spans ADD COLUMN ingest_warnings VARCHAR[]
""",
                None,
            ),
        ),
    ),
    (
        "0011_spans_canonical_messages",
        (
            (
                """
ALTER TABLE spans ADD COLUMN input_messages VARCHAR
""",
                None,
            ),
            (
                """
ALTER TABLE spans ADD COLUMN output_messages VARCHAR
""",
                None,
            ),
        ),
    ),
    (
        "0012_spans_token_details",
        (
            (
                """
ALTER TABLE spans ADD COLUMN cache_read_tokens BIGINT
""",
                None,
            ),
            (
                """
ALTER TABLE spans ADD COLUMN cache_write_tokens BIGINT
""",
                None,
            ),
            (
                """
ALTER TABLE spans ADD COLUMN reasoning_tokens BIGINT
""",
                None,
            ),
        ),
    ),
    (
        "0015_create_traces",
        (
            (
                """
CREATE TABLE traces (
    trace_id VARCHAR PRIMARY KEY,
    project VARCHAR NOT NULL,
    root_span_id VARCHAR NOT NULL,
    root_name VARCHAR NOT NULL,
    service_name VARCHAR,
    start_time TIMESTAMP NOT NULL,
    end_time TIMESTAMP NOT NULL,
    span_count BIGINT NOT NULL,
    error_count BIGINT NOT NULL,
    total_tokens BIGINT,
    cost_usd DOUBLE,
    session_id VARCHAR,
    user_id VARCHAR,
    tags VARCHAR[] NOT NULL,
    input_preview VARCHAR,
    output_preview VARCHAR,
    root_rank BIGINT NOT NULL,
    input_rank BIGINT,
    output_rank BIGINT
)
""",
                None,
            ),
        ),
    ),
    (
        "0016_traces_usage_spans",
        (
            (
                """
ALTER TABLE traces ADD COLUMN usage_spans STRUCT(span_id VARCHAR, parent_span_id VARCHAR, total_tokens BIGINT, cost_usd DOUBLE)[]
""",
                None,
            ),
            (
                """
DELETE FROM traces
""",
                None,
            ),
            (
                """
INSERT INTO traces (trace_id, project, root_span_id, root_name, service_name, start_time, end_time, span_count, error_count, total_tokens, cost_usd, session_id, user_id, tags, input_preview, output_preview, root_rank, input_rank, output_rank, usage_spans)
SELECT * REPLACE (list_sum(list_transform(list_filter(usage_spans, lambda x: x.total_tokens IS NOT NULL AND NOT list_contains(list_transform(list_filter(usage_spans, lambda y: y.total_tokens IS NOT NULL), lambda y: y.parent_span_id), x.span_id)), lambda x: x.total_tokens))::BIGINT AS total_tokens, list_sum(list_transform(list_filter(usage_spans, lambda x: x.cost_usd IS NOT NULL AND NOT list_contains(list_transform(list_filter(usage_spans, lambda y: y.cost_usd IS NOT NULL), lambda y: y.parent_span_id), x.span_id)), lambda x: x.cost_usd))::DOUBLE AS cost_usd) FROM (
SELECT
    trace_id,
    arg_min(project, root_rank) AS project,
    arg_min(span_id, root_rank) AS root_span_id,
    arg_min(name, root_rank) AS root_name,
    arg_min_null(service_name, root_rank) AS service_name,
    min(start_time) AS start_time,
    max(end_time) AS end_time,
    count(*) AS span_count,
    count(*) FILTER (WHERE status = 'error') AS error_count,
    NULL::BIGINT AS total_tokens,
    NULL::DOUBLE AS cost_usd,
    min(session_id) AS session_id,
    min(user_id) AS user_id,
    coalesce(list_sort(list_distinct(flatten(list(tags)))), []) AS tags,
    arg_min(left(input, 200), root_rank) AS input_preview,
    arg_min(left(output, 200), output_rank) AS output_preview,
    min(root_rank) AS root_rank,
    min(root_rank) FILTER (WHERE input IS NOT NULL) AS input_rank,
    min(output_rank) FILTER (WHERE output IS NOT NULL) AS output_rank,
    list_sort(list(struct_pack(span_id := span_id, parent_span_id := parent_span_id, total_tokens := total_tokens, cost_usd := cost_usd))
        FILTER (WHERE total_tokens IS NOT NULL OR cost_usd IS NOT NULL)) AS usage_spans
FROM (
    SELECT *,
        (parent_span_id IS NOT NULL)::BIGINT * 2305843009213693952 + epoch_us(start_time) AS root_rank,
        (parent_span_id IS NOT NULL)::BIGINT * 2305843009213693952 + (1152921504606846976 - epoch_us(end_time))
            AS output_rank
    FROM spans
    WHERE true
)
GROUP BY trace_id
)
""",
                None,
            ),
        ),
    ),
    (
        "0020_create_flags",
        (
            (
                """
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
""",
                None,
            ),
        ),
    ),
    (
        "0021_create_flag_clusters",
        (
            (
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
                None,
            ),
            (
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
                None,
            ),
        ),
    ),
    (
        "0022_create_eval_watermarks",
        (
            (
                """
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
""",
                None,
            ),
        ),
    ),
    (
        "0023_create_judge_cache",
        (
            (
                """
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
""",
                None,
            ),
        ),
    ),
    (
        "0030_create_review_tables",
        (
            (
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
                None,
            ),
            (
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
                None,
            ),
        ),
    ),
    (
        "0031_create_corrections",
        (
            (
                """
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
""",
                None,
            ),
        ),
    ),
    (
        "0032_create_dataset_tables",
        (
            (
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
                None,
            ),
            (
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
                None,
            ),
            (
                """
CREATE TABLE dataset_members (
    dataset VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    position INTEGER NOT NULL,
    example_id VARCHAR NOT NULL,
    PRIMARY KEY (dataset, version, position)
)
""",
                None,
            ),
        ),
    ),
    (
        "0033_create_prompt_tables",
        (
            (
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
                None,
            ),
            (
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
                None,
            ),
            (
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
                None,
            ),
            (
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
                None,
            ),
        ),
    ),
    (
        "0040_create_eval_runs",
        (
            (
                """
CREATE TABLE eval_runs (
    run_id VARCHAR PRIMARY KEY,
    suite VARCHAR NOT NULL,
    dataset VARCHAR NOT NULL,
    passed BOOLEAN NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    git_commit VARCHAR,
    report VARCHAR NOT NULL  -- JSON text of the RunReport
)
""",
                None,
            ),
        ),
    ),
    (
        "0050_create_api_keys",
        (
            (
                """
CREATE TABLE api_keys (
    key_id VARCHAR PRIMARY KEY,
    project VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    secret_sha256 VARCHAR NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
)
""",
                None,
            ),
        ),
    ),
    (
        "0051_create_held_outputs",
        (
            (
                """
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
""",
                None,
            ),
        ),
    ),
    (
        "0052_create_alerts_sent",
        (
            (
                """
CREATE TABLE alerts_sent (
    alert_key VARCHAR PRIMARY KEY,
    rule VARCHAR NOT NULL,
    event VARCHAR NOT NULL,
    project VARCHAR,
    payload VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
)
""",
                None,
            ),
        ),
    ),
    (
        "0053_create_project_resources",
        (
            (
                """
CREATE TABLE project_resources (
    kind VARCHAR NOT NULL,      -- dataset, prompt, eval_run
    name VARCHAR NOT NULL,
    project VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, name)
)
""",
                None,
            ),
        ),
    ),
    (
        "0054_create_logs",
        (
            (
                """
CREATE TABLE logs (
    log_id VARCHAR PRIMARY KEY,
    project VARCHAR NOT NULL,
    trace_id VARCHAR,
    span_id VARCHAR,
    time TIMESTAMP,
    observed_time TIMESTAMP,
    severity_number INTEGER,
    severity_text VARCHAR,
    event_name VARCHAR,
    body VARCHAR,
    attributes VARCHAR,
    resource VARCHAR,
    scope_name VARCHAR,
    service_name VARCHAR,
    input_messages VARCHAR,
    output_messages VARCHAR,
    seq BIGINT NOT NULL,
    ingested_at TIMESTAMP NOT NULL
)
""",
                None,
            ),
        ),
    ),
    (
        "0060_create_audit_log",
        (
            (
                """
CREATE SEQUENCE audit_log_seq START 1;
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY DEFAULT nextval('audit_log_seq'),
    created_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    target VARCHAR NOT NULL,
    project VARCHAR,
    details VARCHAR NOT NULL
);
""",
                None,
            ),
        ),
    ),
    (
        # Marked duplicates (a second instrumentation's record of one call) count toward no
        # total from now on: take them out of the usage lists stored before, and recount.
        "0061_uncount_duplicate_usage",
        (
            (
                """
UPDATE traces SET usage_spans = nullif(list_filter(
        usage_spans, lambda u: NOT list_contains(dropped.span_ids, u.span_id)), [])
FROM (
    SELECT trace_id, list(span_id) AS span_ids FROM spans
    WHERE json_extract_string(metadata, '$.duplicate_of') IS NOT NULL
    GROUP BY trace_id
) AS dropped
WHERE traces.trace_id = dropped.trace_id
""",
                None,
            ),
            (
                """
UPDATE traces SET
    total_tokens = list_sum(list_transform(list_filter(usage_spans, lambda x:
        x.total_tokens IS NOT NULL AND NOT list_contains(list_transform(list_filter(
            usage_spans, lambda y: y.total_tokens IS NOT NULL), lambda y: y.parent_span_id),
        x.span_id)), lambda x: x.total_tokens))::BIGINT,
    cost_usd = list_sum(list_transform(list_filter(usage_spans, lambda x:
        x.cost_usd IS NOT NULL AND NOT list_contains(list_transform(list_filter(
            usage_spans, lambda y: y.cost_usd IS NOT NULL), lambda y: y.parent_span_id),
        x.span_id)), lambda x: x.cost_usd))::DOUBLE
WHERE trace_id IN (
    SELECT trace_id FROM spans
    WHERE json_extract_string(metadata, '$.duplicate_of') IS NOT NULL
)
""",
                None,
            ),
        ),
    ),
    (
        # A review queue's rubric: the evaluators its reviewers give a verdict on. Append-only;
        # the highest version of a project counts, a NULL list is a return to the default.
        "0062_create_review_rubrics",
        (
            (
                """
CREATE TABLE review_rubrics (
    project VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    evaluators VARCHAR[],  -- in the order a reviewer sees them; NULL: back to the default
    actor VARCHAR NOT NULL,
    reason VARCHAR,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project, version)
)
""",
                None,
            ),
        ),
    ),
)
