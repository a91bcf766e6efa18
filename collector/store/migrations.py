"""Named schema migrations, applied once each and recorded in ``_migrations``.

A migration is a named list of SQL statements, frozen as text in ``migration_sql.py``.
Append new ones there; never edit or reorder one that has shipped (a test pins each one's
checksum).
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from .migration_sql import FROZEN_MIGRATIONS, Statement

Migration = tuple[str, Callable[[duckdb.DuckDBPyConnection], None]]


def _frozen(statements: tuple[Statement, ...]) -> Callable[[duckdb.DuckDBPyConnection], None]:
    def apply(con: duckdb.DuckDBPyConnection) -> None:
        for sql, params in statements:
            con.execute(sql) if params is None else con.execute(sql, params)

    return apply


MIGRATIONS: list[Migration] = [(name, _frozen(sql)) for name, sql in FROZEN_MIGRATIONS]
"""Every shipped migration, in order (their SQL is frozen in ``migration_sql``)."""


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
