"""Running a user's SQL where it cannot write, with its own time and memory limits.

User SQL (``POST /api/sql``, ``loopwise sql``, dataset sources) runs on its own cursor inside a
``READ ONLY`` transaction that is always rolled back: DuckDB refuses any write in it, whatever
the statement looks like. DuckDB's memory limit belongs to the whole database, which the writer
shares, so a watchdog also stops a user query whose process memory grows past its own budget
before it can starve ingest.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb

DEFAULT_USER_SQL_MEMORY_BYTES = 1024 * 1024 * 1024
WATCHDOG_INTERVAL_S = 0.02
_STATM = Path("/proc/self/statm")


class QueryStopped(RuntimeError):
    """A user query was stopped for running too long or using too much memory.

    ``limit`` says which: ``"time"`` or ``"memory"``.
    """

    def __init__(self, message: str, limit: str) -> None:
        super().__init__(message)
        self.limit = limit


class _Watchdog:
    """Interrupts one cursor when the time limit passes or process memory grows too much."""

    def __init__(
        self, cursor: duckdb.DuckDBPyConnection, timeout_s: float | None, memory_bytes: int | None
    ) -> None:
        self.cursor = cursor
        self.timeout_s = timeout_s
        self.memory_bytes = memory_bytes if memory_bytes and _resident_bytes() else None
        self.reason: str | None = None
        self.limit = "time"
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, name="loopwise-sql-watchdog", daemon=True
        )

    def __enter__(self) -> _Watchdog:
        if self.timeout_s or self.memory_bytes:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _watch(self) -> None:
        baseline = _resident_bytes()
        waited = 0.0
        while not self._done.wait(WATCHDOG_INTERVAL_S):
            waited += WATCHDOG_INTERVAL_S
            if self.timeout_s and waited >= self.timeout_s:
                self.reason = f"query ran longer than {self.timeout_s:g}s and was stopped"
            elif self.memory_bytes and _resident_bytes() - baseline > self.memory_bytes:
                self.limit = "memory"
                self.reason = (
                    f"query used more than {self.memory_bytes // (1024 * 1024)} MB of memory "
                    "and was stopped; aggregate or filter more"
                )
            if self.reason:
                self.cursor.interrupt()
                return


@contextlib.contextmanager
def read_only_cursor(
    con: duckdb.DuckDBPyConnection,
    *,
    timeout_s: float | None,
    memory_bytes: int | None = DEFAULT_USER_SQL_MEMORY_BYTES,
    search_path: str | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh cursor inside a READ ONLY transaction, rolled back on exit, watched for limits.

    Raises QueryStopped when the watchdog interrupted the query, and DuckDB's own errors (a
    write attempt is a ``TransactionException``) otherwise.
    """
    cur = con.cursor()
    try:
        if search_path is not None:  # a cursor starts in the connection's default catalog
            cur.execute("SET search_path = ?", [search_path])
        cur.execute("BEGIN TRANSACTION READ ONLY")
        watchdog = _Watchdog(cur, timeout_s, memory_bytes)
        try:
            with watchdog:
                yield cur
        except (duckdb.InterruptException, duckdb.OutOfMemoryException) as exc:
            if watchdog.reason:
                raise QueryStopped(watchdog.reason, watchdog.limit) from None
            if isinstance(exc, duckdb.OutOfMemoryException):
                raise QueryStopped(
                    "query ran out of memory and was stopped; aggregate or filter more", "memory"
                ) from None
            raise
        finally:
            with contextlib.suppress(duckdb.Error):
                cur.execute("ROLLBACK")
    finally:
        cur.close()


def _resident_bytes() -> int:
    try:
        return int(_STATM.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0
