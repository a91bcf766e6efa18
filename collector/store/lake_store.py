"""Spans in a DuckLake: the lake's schema, idempotent appends from many processes, reads.

DuckLake has no PRIMARY KEY, UNIQUE, indexes or sequences, so the file store's key on
(trace_id, span_id) cannot be declared. Spans land in ``spans_raw`` and readers use the
``spans`` view, which keeps one row per (trace_id, span_id):

- at write, each batch drops the spans repeated within it and those already committed (an
  anti-join on the batch's trace ids), so a resend after an ack adds nothing;
- on read, the view keeps the first-ingested row of a key, so two collectors that commit the
  same span at the same moment (each before seeing the other's) still show it once.

Schema creation is safe when several processes start at once: each statement is idempotent
(``IF NOT EXISTS``, ``CREATE OR REPLACE VIEW``) and a transaction that loses a catalog
conflict to another process is retried after re-reading the catalog.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import duckdb
import pyarrow as pa

from .backend import LAKE_ALIAS, LakeBackend, connect_lake
from .migration_sql import FROZEN_MIGRATIONS
from .readonly import check_single_select
from .schema import SPAN_COLUMN_NAMES, SPAN_COLUMNS
from .store import MAX_RESULT_ROWS, QueryResult, query_on, select_checked
from .traces import traces_select
from .user_sql import DEFAULT_USER_SQL_MEMORY_BYTES

LAKE_SCHEMA_VERSION = 2  # 2: the traces view
LOCAL_CATALOG = "memory"  # the connection's own in-memory database: holds what a lake cannot
SEARCH_PATH = f"{LAKE_ALIAS}.main,{LOCAL_CATALOG}.main"
_CONFLICT_RETRIES = 20

SPANS_RAW_DDL = (
    "CREATE TABLE IF NOT EXISTS spans_raw (\n    "
    + ",\n    ".join(f"{name} {sql}" for name, sql, _ in SPAN_COLUMNS)
    + "\n)"
)
SPANS_VIEW_DDL = (
    "CREATE OR REPLACE VIEW spans AS SELECT * FROM spans_raw "
    "QUALIFY row_number() OVER (PARTITION BY trace_id, span_id ORDER BY ingested_at) = 1"
)
TRACES_VIEW_DDL = f"CREATE OR REPLACE VIEW traces AS {traces_select()}"
SCHEMA_TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS _lake_schema (version INTEGER NOT NULL, applied_at TIMESTAMP)"
)


def retrying(con: duckdb.DuckDBPyConnection, statements: list[tuple[str, list[object]]]) -> None:
    """Run ``statements`` in one transaction, retried when another process's commit wins."""
    for attempt in range(_CONFLICT_RETRIES):
        con.execute("BEGIN TRANSACTION")
        try:
            for sql, params in statements:
                con.execute(sql, params)
            con.execute("COMMIT")
            return
        except duckdb.Error as exc:
            rollback_quietly(con)  # a failed COMMIT has already ended it
            if not is_conflict(exc) or attempt == _CONFLICT_RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    """End the transaction on ``con``, if a failed COMMIT has not already ended it."""
    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")


def is_conflict(exc: duckdb.Error) -> bool:
    """Whether ``exc`` is a lake commit that lost to another process's (worth retrying)."""
    text = str(exc).lower()
    return isinstance(exc, duckdb.TransactionException) or "conflict" in text


def file_macros() -> list[str]:
    """The file store's macros (``raw_attributes``, ...) as its migrations define them, to be
    created in the connection's own database: DuckLake stores no functions."""
    statements = []
    for _, migration in FROZEN_MIGRATIONS:
        for sql, _params in migration:
            text = sql.strip()
            for head in ("CREATE MACRO ", "CREATE OR REPLACE MACRO "):
                if text.startswith(head):
                    rest = text[len(head) :]
                    statements.append(f"CREATE OR REPLACE MACRO {LOCAL_CATALOG}.main.{rest}")
    return statements


def lake_schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The lake schema version recorded in the lake behind ``con`` (0: none yet)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_name = '_lake_schema'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT max(version) FROM _lake_schema").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def ensure_lake_schema(con: duckdb.DuckDBPyConnection) -> bool:
    """Create the lake's tables and views unless they exist; True when this call made them."""
    if lake_schema_version(con) >= LAKE_SCHEMA_VERSION:
        return False
    retrying(con, [(SCHEMA_TABLE_DDL, []), (SPANS_RAW_DDL, [])])
    retrying(con, [(SPANS_VIEW_DDL, [])])
    retrying(con, [(TRACES_VIEW_DDL, [])])
    if lake_schema_version(con) >= LAKE_SCHEMA_VERSION:
        return False
    retrying(
        con,
        [
            (
                "INSERT INTO _lake_schema SELECT ?, current_timestamp "
                "WHERE NOT EXISTS (SELECT 1 FROM _lake_schema WHERE version = ?)",
                [LAKE_SCHEMA_VERSION, LAKE_SCHEMA_VERSION],
            )
        ],
    )
    return True


_COLUMNS = ", ".join(SPAN_COLUMN_NAMES)
_APPEND_SQL = f"""
INSERT INTO spans_raw ({_COLUMNS})
SELECT {_COLUMNS} FROM (
    SELECT * FROM _incoming_spans
    QUALIFY row_number() OVER (PARTITION BY trace_id, span_id ORDER BY start_time) = 1
) AS b
WHERE NOT EXISTS (
    SELECT 1 FROM spans_raw AS s
    WHERE s.trace_id IN (SELECT DISTINCT trace_id FROM _incoming_spans)
      AND s.trace_id = b.trace_id AND s.span_id = b.span_id
)
"""


class LakeStore:
    """Spans in a DuckLake shared by many processes (see the module docstring)."""

    def __init__(self, backend: LakeBackend) -> None:
        self.backend = backend
        self._con = connect_lake(backend)
        self._write_lock = threading.Lock()
        for statement in file_macros():
            self._con.execute(statement)
        ensure_lake_schema(self._con)

    def close(self) -> None:
        """Close the connection (appended batches are already committed)."""
        self._con.close()

    def __enter__(self) -> LakeStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor on the lake; each statement reads the latest committed snapshot."""
        cur = self._con.cursor()
        cur.execute(f"USE {LAKE_ALIAS}")
        cur.execute(f"SET search_path = '{SEARCH_PATH}'")
        return cur

    def query(
        self,
        sql: str,
        params: list[Any] | dict[str, Any] | None = None,
        *,
        max_rows: int = MAX_RESULT_ROWS,
        timeout_s: float | None = None,
    ) -> QueryResult:
        """Run trusted SQL (our own read queries) on the latest snapshot."""
        return query_on(self.cursor(), sql, params, max_rows=max_rows, timeout_s=timeout_s)

    def select(
        self,
        sql: str,
        *,
        max_rows: int = MAX_RESULT_ROWS,
        timeout_s: float | None = 30.0,
        memory_bytes: int | None = DEFAULT_USER_SQL_MEMORY_BYTES,
    ) -> QueryResult:
        """Run one user query where it cannot write, on one snapshot, checked and limited
        as on a file store (``Store.select``); cut at ``max_rows``."""
        return select_checked(
            self._con,
            check_single_select(sql),
            max_rows=max_rows,
            timeout_s=timeout_s,
            memory_bytes=memory_bytes,
            search_path=SEARCH_PATH,
        )

    def append_spans(self, table: pa.Table) -> int:
        """Append normalized spans in one lake transaction; return how many were new.

        Committed when this returns: the Parquet file is written and the catalog in
        PostgreSQL records it. Spans already in the lake, or repeated in ``table``, are
        skipped.
        """
        rows = table.select(list(SPAN_COLUMN_NAMES))
        if rows.num_rows == 0:
            return 0
        with self._write_lock:
            cur = self.cursor()
            try:
                cur.register("_incoming_spans", rows)
                for attempt in range(_CONFLICT_RETRIES):
                    cur.execute("BEGIN TRANSACTION")
                    try:
                        result = cur.execute(_APPEND_SQL).fetchone()
                        cur.execute("COMMIT")
                        return int(result[0]) if result else 0
                    except duckdb.Error as exc:
                        rollback_quietly(cur)  # a failed COMMIT has already ended it
                        if not is_conflict(exc) or attempt == _CONFLICT_RETRIES - 1:
                            raise
                        time.sleep(0.05 * (attempt + 1))
                return 0  # unreachable: the last attempt returns or raises
            finally:
                cur.unregister("_incoming_spans")
                cur.close()
