"""File-store tables in a lake, with the same columns as in a DuckDB file store.

A lake table has no keys, indexes or defaults, so its definition is taken from the file
schema itself: the file migrations are applied to an in-memory database, and each lake
table is created from its columns (``CREATE TABLE IF NOT EXISTS ... AS ... LIMIT 0``). A
table ``loopwise migrate`` copied, and one the worker creates, therefore have the same
columns, and a migration that adds a column to the file store adds it here too for new lakes.
"""

from __future__ import annotations

import duckdb

from .backend import LAKE_ALIAS
from .lake_store import retrying
from .migrations import migrate

TEMPLATE_ALIAS = "_file_schema"


def ensure_lake_tables(con: duckdb.DuckDBPyConnection, names: tuple[str, ...]) -> None:
    """Create the lake tables ``names`` (file-store table names) unless they exist."""
    missing = [name for name in names if not _exists(con, name)]
    if not missing:
        return
    con.execute(f"ATTACH ':memory:' AS {TEMPLATE_ALIAS}")
    try:
        con.execute(f"USE {TEMPLATE_ALIAS}")
        try:
            migrate(con)
        finally:
            con.execute(f"USE {LAKE_ALIAS}")
        retrying(
            con,
            [
                (
                    f'CREATE TABLE IF NOT EXISTS "{name}" AS '
                    f'SELECT * FROM {TEMPLATE_ALIAS}.main."{name}" LIMIT 0',
                    [],
                )
                for name in missing
            ],
        )
    finally:
        con.execute(f"DETACH {TEMPLATE_ALIAS}")


def _exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_name = ?",
        [name],
    ).fetchone()
    return bool(row and row[0])
