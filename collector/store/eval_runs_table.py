"""The ``eval_runs`` table: one row per eval-suite run, with its whole report as JSON."""

from __future__ import annotations

import duckdb


def create_eval_runs_table(con: duckdb.DuckDBPyConnection) -> None:
    """Migration: create eval_runs."""
    con.execute(
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
        """
    )
