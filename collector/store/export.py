"""``loopwise export``: every table of a store as Parquet, one file per table, and a manifest.

The store's DuckDB connection has file access switched off (user SQL runs through it), so
files are written here in Python: query results come out as Arrow record batches and
pyarrow writes them; DuckDB never touches the directory. All tables are read in one
transaction, so the files are one consistent snapshot even while the collector ingests.

``manifest.json``::

    {"format": "loopwise-export", "format_version": 1, "created_at": "...Z",
     "migrations": ["0001_create_spans", ...],          # the schema version
     "tables": {"spans": {"file": "spans.parquet", "rows": 1234,
                          "columns": [["project", "VARCHAR"], ...]}, ...}}

Rows are written in rowid order. ``eval_watermarks.last_rowid`` is written as a position in
the exported ``spans`` file (rowids are positions in one database file; see import_store).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from .migrations import applied_migrations
from .store import Store

FORMAT = "loopwise-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH_ROWS = 65_536
# Tables that are not data: the migration record is the manifest's "migrations".
NOT_EXPORTED = ("_migrations",)
# last_rowid as a position in spans (rows with rowid <= last_rowid, minus one).
WATERMARK_SQL = """
SELECT * REPLACE (
    (SELECT count(*) FROM spans s WHERE s.rowid <= w.last_rowid) - 1 AS last_rowid
) FROM eval_watermarks w ORDER BY w.rowid
"""


class ExportError(RuntimeError):
    """An export or import that cannot be done; the message says why (nothing changed)."""


def store_tables(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """The data tables of the store behind ``cur``, sorted by name."""
    rows = cur.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY table_name"
    ).fetchall()
    return [row[0] for row in rows if row[0] not in NOT_EXPORTED]


def table_columns(cur: duckdb.DuckDBPyConnection, table: str) -> list[list[str]]:
    """``[[column, DuckDB type], ...]`` of ``table`` in column order."""
    rows = cur.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [[str(name), str(kind)] for name, kind in rows]


def _batches(cur: duckdb.DuckDBPyConnection, table: str) -> pa.RecordBatchReader:
    sql = WATERMARK_SQL if table == "eval_watermarks" else f'SELECT * FROM "{table}" ORDER BY rowid'
    # fetch_arrow_reader: DuckDB 1.4 (the pin, see pyproject.toml) has no to_arrow_reader.
    return cur.sql(sql).fetch_arrow_reader(BATCH_ROWS)


def export_store(store: Store, directory: str | Path) -> dict[str, Any]:
    """Write every table of ``store`` to ``directory`` (created; must hold no export yet) as
    ``<table>.parquet`` plus ``manifest.json``; return the manifest."""
    folder = Path(directory)
    if (folder / MANIFEST).exists():
        raise ExportError(f"{folder} already holds an export ({MANIFEST}); choose a new folder")
    folder.mkdir(parents=True, exist_ok=True)
    cur = store.cursor()
    try:
        cur.execute("BEGIN TRANSACTION READ ONLY")
        try:
            manifest = _write_tables(cur, folder)
        finally:
            cur.execute("ROLLBACK")
    finally:
        cur.close()
    _write_atomically(folder / MANIFEST, json.dumps(manifest, indent=2).encode())
    return manifest


def _write_tables(cur: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    for table in store_tables(cur):
        file_name = f"{table}.parquet"
        rows = _write_parquet(_batches(cur, table), folder / file_name)
        tables[table] = {"file": file_name, "rows": rows, "columns": table_columns(cur, table)}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        "migrations": applied_migrations(cur),
        "tables": tables,
    }


def _write_parquet(reader: pa.RecordBatchReader, path: Path) -> int:
    partial = path.with_name(path.name + ".partial")
    rows = 0
    with pq.ParquetWriter(partial, reader.schema, compression="zstd") as writer:
        for batch in _nonempty(reader):
            writer.write_batch(batch)
            rows += batch.num_rows
    os.replace(partial, path)
    return rows


def _nonempty(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    for batch in reader:
        if batch.num_rows:
            yield batch


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)
