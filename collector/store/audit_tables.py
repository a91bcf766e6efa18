"""Migrations of the audit log (frozen DDL: never edit a statement that has shipped)."""

from __future__ import annotations

import duckdb

AUDIT_LOG_DDL = """
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
"""


def create_audit_log(con: duckdb.DuckDBPyConnection) -> None:
    """0060_create_audit_log: the append-only log of administrative actions."""
    con.execute(AUDIT_LOG_DDL)
