"""Copying a DuckDB file store into an empty DuckLake, every table, and proving it lossless.

The file is first opened as a store (so it is on the current schema), then attached
read-only to the lake connection. One lake transaction copies each table: ``spans`` into the
lake's ``spans_raw`` (read through its deduplicating ``spans`` view), every other table as
it is (``CREATE TABLE ... AS``, or into the empty table a collector or worker already
made; DuckLake has no primary keys, indexes or sequences, so only columns and rows carry
over), except ``traces``: the lake's ``traces`` view computes those rows from the spans,
and the file's table is compared with it like any copy. After the commit each table is
compared in both directions
with ``EXCEPT ALL`` (a multiset difference, so a lost or doubled row shows), and the
migration reports a table that differs instead of claiming success.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .backend import LakeBackend, connect_lake, sql_string
from .lake_store import ensure_lake_schema, rollback_quietly
from .readonly import _first_line
from .schema import SPAN_COLUMN_NAMES

SOURCE_ALIAS = "_migrate_source"
_LAKE_SPANS = "spans_raw"
_COMPUTED = frozenset({"traces"})  # views in the lake, computed from the copied spans


class MigrationError(RuntimeError):
    """The copy cannot start or did not come out identical; the message says why."""


@dataclass
class TableCopy:
    """One table's rows in the file and in the lake, and whether both hold the same rows."""

    name: str
    source_rows: int
    lake_rows: int
    identical: bool


@dataclass
class MigrationReport:
    """What ``migrate_to_lake`` copied, table by table."""

    tables: list[TableCopy] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """Every table holds exactly the rows of its source."""
        return all(table.identical for table in self.tables)

    @property
    def rows(self) -> int:
        """Rows copied over all tables."""
        return sum(table.lake_rows for table in self.tables)


def migrate_to_lake(source: Path, backend: LakeBackend) -> MigrationReport:
    """Copy every table of the file store at ``source`` into the empty lake ``backend``.

    Raises MigrationError when the file is missing or open elsewhere, when the lake already
    holds data, or when a copied table does not match its source (the lake then keeps the
    copy for inspection; nothing in the file changes).
    """
    if not source.is_file():
        raise MigrationError(f"no DuckDB file at {source}")
    _upgrade(source)
    con = connect_lake(backend)
    try:
        ensure_lake_schema(con)
        try:
            con.execute(f"ATTACH {sql_string(str(source))} AS {SOURCE_ALIAS} (READ_ONLY)")
        except duckdb.Error as exc:
            raise MigrationError(f"cannot read {source}: {_first_line(exc)}") from None
        tables = _source_tables(con)
        _check_empty(con, tables)
        _copy(con, tables)
        return MigrationReport([_compare(con, name) for name in tables])
    finally:
        con.close()


def _upgrade(source: Path) -> None:
    """Open the file as a store once, which brings it to the current schema."""
    from .store import Store, StoreError

    try:
        Store(source).close()
    except StoreError as exc:
        raise MigrationError(str(exc)) from None


def _source_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_catalog = ? AND table_schema = 'main' AND table_type = 'BASE TABLE' "
        "ORDER BY table_name",
        [SOURCE_ALIAS],
    ).fetchall()
    return [str(row[0]) for row in rows]


def _lake_table(name: str) -> str:
    return _LAKE_SPANS if name == "spans" else name


def _lake_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        str(row[0])
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_type = 'BASE TABLE'"
        ).fetchall()
    }


def _check_empty(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    existing = _lake_tables(con)
    for name in tables:
        target = _lake_table(name)
        if target in existing and _scalar(con, f'SELECT count(*) FROM "{target}"'):
            raise MigrationError(
                f"the lake already holds rows in {target}: migrate copies into an empty lake"
            )


def _copy(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    columns = ", ".join(f'"{name}"' for name in SPAN_COLUMN_NAMES)
    existing = _lake_tables(con)
    con.execute("BEGIN TRANSACTION")
    try:
        for name in tables:
            source = f'{SOURCE_ALIAS}.main."{name}"'
            if name == "spans":
                con.execute(f"INSERT INTO {_LAKE_SPANS} ({columns}) SELECT {columns} FROM {source}")
            elif name in existing:  # made empty by a collector or worker, same columns
                con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM {source}')
            elif name not in _COMPUTED:
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM {source}')
        con.execute("COMMIT")
    except duckdb.Error as exc:
        rollback_quietly(con)
        raise MigrationError(f"copy failed, the lake is unchanged: {_first_line(exc)}") from None


def _compare(con: duckdb.DuckDBPyConnection, name: str) -> TableCopy:
    source = f'{SOURCE_ALIAS}.main."{name}"'
    target = f'"{_lake_table(name)}"'
    columns = ", ".join(f'"{column}"' for column in _columns(con, name))
    left = f"SELECT {columns} FROM {source}"
    right = f"SELECT {columns} FROM {target}"
    missing = _scalar(con, f"SELECT count(*) FROM ({left} EXCEPT ALL {right})")
    extra = _scalar(con, f"SELECT count(*) FROM ({right} EXCEPT ALL {left})")
    return TableCopy(
        name=name,
        source_rows=_scalar(con, f"SELECT count(*) FROM {source}"),
        lake_rows=_scalar(con, f"SELECT count(*) FROM {target}"),
        identical=missing == 0 and extra == 0,
    )


def _columns(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_catalog = ? AND table_schema = 'main' AND table_name = ? "
        "ORDER BY ordinal_position",
        [SOURCE_ALIAS, name],
    ).fetchall()
    return [str(row[0]) for row in rows]


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0
