"""Named schema migrations, applied once each and recorded in ``_migrations``.

A migration is a function taking a DuckDB connection. Append new ones to ``MIGRATIONS``;
never edit or reorder one that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from .audit_tables import create_audit_log
from .eval_runs_table import create_eval_runs_table
from .evals_tables import (
    create_alerts_sent_table,
    create_eval_watermarks_table,
    create_flag_cluster_tables,
    create_flags_table,
    create_judge_cache_table,
)
from .feedback_tables import (
    create_corrections_table,
    create_dataset_tables,
    create_held_outputs_table,
    create_project_resources_table,
    create_prompt_tables,
    create_review_tables,
)
from .log_content import create_logs_table
from .schema import SPAN_COLUMNS, SPANS_DDL
from .traces import add_usage_spans, create_traces_table

Migration = tuple[str, Callable[[duckdb.DuckDBPyConnection], None]]


def _create_spans(con: duckdb.DuckDBPyConnection) -> None:
    # No index on start_time: DuckDB zone maps already prune by time, and an ART index
    # would slow every append.
    con.execute(SPANS_DDL)


def _raw_attributes_macro(con: duckdb.DuckDBPyConnection) -> None:
    # Text copied verbatim into input/output is stored once; the attributes JSON holds
    # {"$column": "input"} in its place (collector/semconv/normalize.py). This restores it.
    con.execute(
        """
        CREATE MACRO raw_attributes(attributes, input, output) AS
            replace(
                replace(
                    attributes, '{"$column":"input"}', coalesce(to_json(input)::VARCHAR, 'null')
                ),
                '{"$column":"output"}', coalesce(to_json(output)::VARCHAR, 'null')
            )
        """
    )


def _create_scores(con: duckdb.DuckDBPyConnection) -> None:
    from .scores import create_scores_table  # scores imports store, which imports this module

    create_scores_table(con)


def _create_api_keys(con: duckdb.DuckDBPyConnection) -> None:
    from .api_keys import create_api_keys_table  # api_keys imports store, which imports this

    create_api_keys_table(con)


def _add_score_direction(con: duckdb.DuckDBPyConnection) -> None:
    from .scores import add_score_direction

    add_score_direction(con)


def _add_span_columns(*names: str) -> Callable[[duckdb.DuckDBPyConnection], None]:
    """A migration adding ``names`` (declared in schema.SPAN_COLUMNS) to ``spans``."""
    types = {name: sql for name, sql, _ in SPAN_COLUMNS}

    def add(con: duckdb.DuckDBPyConnection) -> None:
        for name in names:
            con.execute(f"ALTER TABLE spans ADD COLUMN {name} {types[name]}")

    return add


MIGRATIONS: list[Migration] = [
    ("0001_create_spans", _create_spans),
    ("0002_raw_attributes_macro", _raw_attributes_macro),
    ("0003_create_scores", _create_scores),
    ("0004_scores_direction", _add_score_direction),
    ("0010_spans_ingest_warnings", _add_span_columns("ingest_warnings")),
    ("0011_spans_canonical_messages", _add_span_columns("input_messages", "output_messages")),
    (
        "0012_spans_token_details",
        _add_span_columns("cache_read_tokens", "cache_write_tokens", "reasoning_tokens"),
    ),
    ("0015_create_traces", create_traces_table),
    ("0016_traces_usage_spans", add_usage_spans),
    ("0020_create_flags", create_flags_table),
    ("0021_create_flag_clusters", create_flag_cluster_tables),
    ("0022_create_eval_watermarks", create_eval_watermarks_table),
    ("0023_create_judge_cache", create_judge_cache_table),
    ("0030_create_review_tables", create_review_tables),
    ("0031_create_corrections", create_corrections_table),
    ("0032_create_dataset_tables", create_dataset_tables),
    ("0033_create_prompt_tables", create_prompt_tables),
    ("0040_create_eval_runs", create_eval_runs_table),
    ("0050_create_api_keys", _create_api_keys),
    ("0051_create_held_outputs", create_held_outputs_table),
    ("0052_create_alerts_sent", create_alerts_sent_table),
    ("0053_create_project_resources", create_project_resources_table),
    ("0054_create_logs", create_logs_table),
    ("0060_create_audit_log", create_audit_log),
]


def applied_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the migrations already applied to the database behind ``con``."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = '_migrations'"
    ).fetchone()
    if not exists or not exists[0]:
        return []
    return [row[0] for row in con.execute("SELECT name FROM _migrations ORDER BY name").fetchall()]


def migrate(con: duckdb.DuckDBPyConnection, migrations: list[Migration] | None = None) -> list[str]:
    """Apply every migration not yet applied, each in its own transaction; return their names."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS _migrations "
        "(name VARCHAR PRIMARY KEY, applied_at TIMESTAMP DEFAULT current_timestamp)"
    )
    done = set(applied_migrations(con))
    newly: list[str] = []
    for name, apply in migrations if migrations is not None else MIGRATIONS:
        if name in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            apply(con)
            con.execute("INSERT INTO _migrations (name) VALUES (?)", [name])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        newly.append(name)
    return newly
