"""Checks that a user's SQL is exactly one read-only SELECT, using DuckDB's own parser."""

from __future__ import annotations

import duckdb


class QueryRejected(ValueError):
    """The SQL is not a single SELECT statement (or does not parse)."""


def check_single_select(sql: str) -> str:
    """Return the one SELECT statement in ``sql``; raise QueryRejected for anything else."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryRejected(f"SQL does not parse: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise QueryRejected(f"expected exactly one SELECT statement, got {len(statements)}")
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        raise QueryRejected(f"only SELECT is allowed, got {statement.type.name}")
    return statement.query


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
