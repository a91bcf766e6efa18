"""The DuckDB store: opening the file, migrating it, appending span batches, reading."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from .duplicates import DuplicateMarker
from .log_content import LogContent
from .migrations import migrate
from .project_sql import scope_to_project
from .readonly import QueryRejected, _first_line, check_single_select
from .schema import SPAN_COLUMN_NAMES
from .trace_writer import RecentTraces, append_spans_and_traces
from .user_sql import DEFAULT_USER_SQL_MEMORY_BYTES, QueryStopped, read_only_cursor

DEFAULT_DB_PATH = Path(".loopwise") / "loopwise.duckdb"
MAX_RESULT_ROWS = 10_000
CHECKPOINT_THRESHOLD = "256MB"


class StoreError(RuntimeError):
    """The database could not be opened or used; the message says why in one line."""


class QueryTimeout(StoreError):
    """A query ran past its time limit and was interrupted."""


class QueryTooLarge(StoreError):
    """A user query grew past its memory budget and was stopped."""


class QueryResult:
    """Columns and rows of a query, with a flag when rows were cut at the limit."""

    def __init__(self, columns: list[str], rows: list[tuple[Any, ...]], truncated: bool) -> None:
        self.columns = columns
        self.rows = rows
        self.truncated = truncated

    def records(self) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class QuerySource(Protocol):
    """What the read queries (traces, overview, root causes) run on: a file ``Store`` or a
    ``LakeStore``."""

    def query(
        self,
        sql: str,
        params: list[Any] | dict[str, Any] | None = None,
        *,
        max_rows: int = MAX_RESULT_ROWS,
        timeout_s: float | None = None,
    ) -> QueryResult:
        """Run trusted SQL; stop it after ``timeout_s`` (QueryTimeout)."""
        ...


class Store:
    """One DuckDB database file holding spans (and, later, scores, reviews, datasets).

    Open read-write in exactly one process (the collector, or a local SDK/CLI when no
    collector runs); every other process goes through the collector's HTTP API.
    """

    def __init__(self, path: str | Path = DEFAULT_DB_PATH, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise StoreError(f"no database at {self.path}")
        config: dict[str, Any] = {
            # User SQL runs through this database: no file, network or extension access, and
            # no scanning of Python variables by name. Our own batches are registered explicitly.
            "enable_external_access": False,
            "python_enable_replacements": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        self._config = config
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            message = str(exc).splitlines()[0]
            if "lock" in message.lower():
                raise StoreError(
                    f"{self.path} is open in another process (a running collector?): "
                    "query it through its HTTP API instead"
                ) from None
            raise StoreError(f"cannot open {self.path}: {message}") from None
        except duckdb.ConnectionException:
            raise StoreError(
                f"{self.path} is already open in this process (a collector running here?): "
                "query it through its HTTP API instead"
            ) from None
        self._write_lock = threading.Lock()
        self._failed_commit = False
        self._recent_traces = RecentTraces()
        self._duplicates = DuplicateMarker()
        self._log_content = LogContent()
        if not read_only:
            self._tune()
            migrate(self._con)
            self._log_content.load(self._con)

    def _tune(self) -> None:
        # The default 16 MB WAL checkpoints every few thousand LLM-sized spans and halves
        # the append rate; larger checkpoints measured ~2x faster in bench/ingest.py.
        self._con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the write lock; after a commit that could not be written, reopen first.

        When a COMMIT fails to write the WAL (disk full), DuckDB 1.4 keeps the rolled-back
        rows' keys in its in-memory primary key indexes, and every later insert into the
        table is refused as a duplicate. Reopening the database rebuilds the indexes from
        what was committed, so writes succeed again once there is room.
        """
        with self._write_lock:
            if self._failed_commit:
                self._reopen()
            try:
                yield
            except (duckdb.TransactionException, duckdb.IOException):
                self._failed_commit = True
                raise

    def _reopen(self) -> None:
        try:
            self._con.close()  # closes the cursors made from it, releasing the database
            self._con = duckdb.connect(str(self.path), config=self._config)
        except duckdb.Error as exc:
            raise StoreError(f"cannot reopen {self.path}: {_first_line(exc)}") from None
        self._tune()
        self._failed_commit = False

    def close(self) -> None:
        """Close the database (pending writes are already committed)."""
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor for one thread's reads; cursors see every committed write."""
        return self._con.cursor()

    def append_spans(self, table: pa.Table) -> int:
        """Append a batch of normalized spans in one transaction; return how many were new.

        Idempotent on (trace_id, span_id): spans already stored, or repeated within the
        batch, are skipped, so a resent request changes nothing. The ``traces`` summary rows
        of the affected traces are updated in the same transaction (see traces.py).
        """
        rows = table.select(list(SPAN_COLUMN_NAMES))
        if rows.num_rows == 0:
            return 0
        with self._writing():
            return append_spans_and_traces(
                self._con, rows, self._recent_traces, self._duplicates, self._log_content
            )

    def restrict_log_content_to_projects(self, restrict: bool) -> None:
        """Whether content log events fill only spans of their own project (on once project
        API keys exist; see log_content.py)."""
        self._log_content.same_project_only = restrict

    def append_logs(self, table: pa.Table) -> int:
        """Append OTLP log rows (the ``logs`` schema) in one transaction; return how many were
        new. Idempotent on ``log_id``. GenAI content events fill the input and output of
        their spans, stored now or later (log_content.py)."""
        if table.num_rows == 0:
            return 0
        with self.transaction() as cur:
            return self._log_content.append_logs(cur, table)

    def append_rows(self, table_name: str, rows: pa.Table) -> int:
        """Append an Arrow table to ``table_name`` in one transaction; return the rows added.

        Rows whose primary key is already stored are skipped (``INSERT OR IGNORE``). Columns
        are matched by name, so ``rows`` may leave out columns that have defaults.
        """
        if rows.num_rows == 0:
            return 0
        columns = ", ".join(f'"{name}"' for name in rows.column_names)
        with self._writing():
            cur = self._con.cursor()
            try:
                before = _count(cur, table_name)
                cur.register("_incoming_rows", rows)
                cur.execute("BEGIN TRANSACTION")
                try:
                    cur.execute(
                        f"INSERT OR IGNORE INTO {table_name} ({columns}) "
                        f"SELECT {columns} FROM _incoming_rows"
                    )
                    cur.execute("COMMIT")
                except Exception:
                    cur.execute("ROLLBACK")
                    raise
                finally:
                    cur.unregister("_incoming_rows")
                return _count(cur, table_name) - before
            finally:
                cur.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside one write transaction: committed on success, rolled back on error.

        Writers in this process take turns (one transaction at a time), so a check made
        inside the block still holds at commit.
        """
        with self._writing():
            cur = self._con.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                try:
                    yield cur
                    cur.execute("COMMIT")
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
            finally:
                cur.close()

    def select(
        self,
        sql: str,
        *,
        max_rows: int = MAX_RESULT_ROWS,
        timeout_s: float | None = 30.0,
        memory_bytes: int | None = DEFAULT_USER_SQL_MEMORY_BYTES,
        project: str | None = None,
    ) -> QueryResult:
        """Run one user query where it cannot write; cut at ``max_rows``.

        The query is checked with DuckDB's parser (one read-only SELECT, allowed functions only)
        and then runs on its own cursor in a READ ONLY transaction that is rolled back, stopped
        after ``timeout_s`` (QueryTimeout) or when it grows past ``memory_bytes`` (QueryTooLarge).
        With ``project`` every stored table is seen through that project's rows only, and
        tables shared by all projects are refused (see project_sql.py).
        """
        statement = check_single_select(sql)
        if project is not None:
            scoped, stored = self._tables_by_scope()
            statement = check_single_select(scope_to_project(statement, project, scoped, stored))
        return select_checked(
            self._con, statement, max_rows=max_rows, timeout_s=timeout_s, memory_bytes=memory_bytes
        )

    def _tables_by_scope(self) -> tuple[list[str], list[str]]:
        """(tables with a ``project`` column, every stored table) of the main schema."""
        rows = self.query(
            "SELECT table_name, bool_or(column_name = 'project') FROM information_schema.columns "
            "WHERE table_schema = 'main' GROUP BY table_name"
        ).rows
        return [name for name, has in rows if has], [name for name, _ in rows]

    def query(
        self,
        sql: str,
        params: list[Any] | dict[str, Any] | None = None,
        *,
        max_rows: int = MAX_RESULT_ROWS,
        timeout_s: float | None = None,
    ) -> QueryResult:
        """Run trusted SQL (our own queries) on a fresh cursor, interrupted after ``timeout_s``."""
        return query_on(self._con.cursor(), sql, params, max_rows=max_rows, timeout_s=timeout_s)


def query_on(
    cur: duckdb.DuckDBPyConnection,
    sql: str,
    params: list[Any] | dict[str, Any] | None = None,
    *,
    max_rows: int = MAX_RESULT_ROWS,
    timeout_s: float | None = None,
) -> QueryResult:
    """Run trusted SQL on ``cur`` (closed afterwards), interrupted after ``timeout_s``."""
    timer = threading.Timer(timeout_s, cur.interrupt) if timeout_s else None
    try:
        if timer:
            timer.start()
        result = cur.execute(sql, params or [])
        columns = [d[0] for d in result.description or []]
        rows = result.fetchmany(max_rows + 1)
    except duckdb.InterruptException:
        raise QueryTimeout(f"query ran longer than {timeout_s:g}s and was stopped") from None
    finally:
        if timer:
            timer.cancel()
        cur.close()
    return QueryResult(columns, rows[:max_rows], truncated=len(rows) > max_rows)


def select_checked(
    con: duckdb.DuckDBPyConnection,
    statement: str,
    *,
    max_rows: int = MAX_RESULT_ROWS,
    timeout_s: float | None = 30.0,
    memory_bytes: int | None = DEFAULT_USER_SQL_MEMORY_BYTES,
    search_path: str | None = None,
) -> QueryResult:
    """Run one already checked user SELECT in a READ ONLY transaction on its own cursor of
    ``con`` (names looked up in ``search_path`` when given), stopped at ``timeout_s`` or
    ``memory_bytes``."""
    try:
        with read_only_cursor(
            con, timeout_s=timeout_s, memory_bytes=memory_bytes, search_path=search_path
        ) as cur:
            result = cur.execute(statement)
            columns = [d[0] for d in result.description or []]
            rows = result.fetchmany(max_rows + 1)
    except QueryStopped as exc:
        if exc.limit == "memory":
            raise QueryTooLarge(str(exc)) from None
        raise QueryTimeout(str(exc)) from None
    except duckdb.TransactionException as exc:
        raise QueryRejected(f"only reads are allowed: {_first_line(exc)}") from None
    return QueryResult(columns, rows[:max_rows], truncated=len(rows) > max_rows)


def _count(cur: duckdb.DuckDBPyConnection, table_name: str) -> int:
    rows = cur.execute(f"SELECT count(*) FROM {table_name}").fetchall()
    return int(rows[0][0])
