"""``loopwise lake maintain``: merge small files, expire old snapshots, delete unused files.

Each ingest commit writes at least one Parquet file, so a trickle of small requests leaves
many small files; merging rewrites adjacent ones into fewer. Every commit is also a snapshot
the catalog keeps for time travel; expiring those older than ``keep`` and then deleting the
files no snapshot references keeps the catalog and the data directory from growing without
bound. Safe to run while collectors ingest: each step is its own lake transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from .backend import LAKE_ALIAS

_SPANS_TABLE = "spans_raw"


@dataclass(frozen=True)
class MaintenanceReport:
    """What a maintenance pass found and left: data files of ``spans_raw`` and snapshots."""

    files_before: int
    files_after: int
    snapshots_before: int
    snapshots_after: int
    files_deleted: int


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _files(con: duckdb.DuckDBPyConnection) -> int:
    return _count(
        con, f"SELECT count(*) FROM ducklake_list_files('{LAKE_ALIAS}', '{_SPANS_TABLE}')"
    )


def _snapshots(con: duckdb.DuckDBPyConnection) -> int:
    return _count(con, f"SELECT count(*) FROM ducklake_snapshots('{LAKE_ALIAS}')")


def maintain(con: duckdb.DuckDBPyConnection, keep: dt.timedelta) -> MaintenanceReport:
    """Merge adjacent files, expire snapshots older than ``keep``, delete unreferenced files.

    ``con`` is a lake connection (``connect_lake``)."""
    if keep < dt.timedelta(0):
        raise ValueError("keep must not be negative")
    files_before, snapshots_before = _files(con), _snapshots(con)
    con.execute(f"SELECT count(*) FROM ducklake_merge_adjacent_files('{LAKE_ALIAS}')").fetchall()
    cutoff = dt.datetime.now(dt.UTC) - keep
    # count(*) over each call: its rows carry TIMESTAMPTZ values this only needs to count.
    con.execute(
        f"SELECT count(*) FROM ducklake_expire_snapshots('{LAKE_ALIAS}', "
        "older_than => ?::TIMESTAMPTZ)",
        [cutoff.isoformat()],
    ).fetchall()
    deleted = _count(
        con,
        f"SELECT count(*) FROM ducklake_cleanup_old_files('{LAKE_ALIAS}', cleanup_all => true)",
    )
    return MaintenanceReport(
        files_before=files_before,
        files_after=_files(con),
        snapshots_before=snapshots_before,
        snapshots_after=_snapshots(con),
        files_deleted=deleted,
    )
