"""Group commit: coalesce concurrent span batches into one DuckDB transaction.

Each request hands its rows to the writer thread and waits on a future that resolves only
after the transaction holding them has committed, so an HTTP 200 means the data is on disk.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future
from typing import Protocol

import pyarrow as pa

log = logging.getLogger(__name__)


class SpanSink(Protocol):
    """Where committed span batches go: the file ``Store`` or a ``LakeStore``."""

    def append_spans(self, table: pa.Table) -> int:
        """Append ``table`` in one transaction; return how many spans were new."""
        ...


class WriterOverloaded(RuntimeError):
    """Too many rows are waiting to be written; the client should retry later."""


class GroupCommitWriter:
    """A single writer thread appending queued batches, many requests per transaction."""

    def __init__(
        self, store: SpanSink, *, max_batch_rows: int = 16_384, max_pending_rows: int = 262_144
    ) -> None:
        self._store = store
        self._max_batch_rows = max_batch_rows
        self._max_pending_rows = max_pending_rows
        self._queue: deque[tuple[pa.Table, Future[None]]] = deque()
        self._pending_rows = 0
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="loopwise-writer", daemon=True)
        self.commits = 0
        self.rows_written = 0

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    @property
    def pending_rows(self) -> int:
        """Rows accepted but not yet committed."""
        return self._pending_rows

    def submit(self, table: pa.Table) -> Future[None]:
        """Queue ``table`` for the next commit; the future resolves once they are committed."""
        future: Future[None] = Future()
        if table.num_rows == 0:
            future.set_result(None)
            return future
        with self._cond:
            if self._closed:
                raise WriterOverloaded("the collector is shutting down")
            if self._pending_rows and self._pending_rows + table.num_rows > self._max_pending_rows:
                raise WriterOverloaded(f"{self._pending_rows} rows are waiting to be written")
            self._queue.append((table, future))
            self._pending_rows += table.num_rows
            self._cond.notify()
        return future

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _take_group(self) -> list[tuple[pa.Table, Future[None]]] | None:
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if not self._queue:
                return None
            group = [self._queue.popleft()]
            rows = group[0][0].num_rows
            while self._queue and rows + self._queue[0][0].num_rows <= self._max_batch_rows:
                item = self._queue.popleft()
                group.append(item)
                rows += item[0].num_rows
            self._pending_rows -= rows
            return group

    def _run(self) -> None:
        while (group := self._take_group()) is not None:
            try:
                inserted = self._store.append_spans(pa.concat_tables([t for t, _ in group]))
            except Exception:
                log.exception("group commit of %d requests failed; retrying one by one", len(group))
                self._write_individually(group)
                continue
            self.commits += 1
            self.rows_written += inserted
            for _, future in group:
                future.set_result(None)

    def _write_individually(self, group: list[tuple[pa.Table, Future[None]]]) -> None:
        for table, future in group:
            try:
                inserted = self._store.append_spans(table)
            except Exception as exc:
                future.set_exception(exc)
            else:
                self.commits += 1
                self.rows_written += inserted
                future.set_result(None)
