"""Appending spans and keeping ``traces`` current, in one transaction per batch.

DuckDB's conflict handling (``INSERT OR IGNORE``) cost about 40% of the span append rate in
our measurements, and almost every batch holds only new spans. So the writer is
optimistic: it inserts spans with a plain ``INSERT``, inserts the fragments of traces it has
not seen lately as plain rows, and folds fragments of traces it has seen into their stored
rows (``write_fragments(merge=True)``). A resent span, or a stored trace it did not
remember, makes a primary key refuse the insert; the transaction is then rolled back and
redone the careful way: ``INSERT OR IGNORE ... RETURNING`` to learn which spans are new, and
every fragment folded into whatever is stored. Both ways store the same rows; the memory of
recent traces only decides which is tried first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from .duplicates import DuplicateMarker
from .log_content import LogContent
from .trace_fragments import new_spans, trace_fragments
from .traces import drop_usage_entries, write_fragments

log = logging.getLogger(__name__)


class RecentTraces:
    """Trace ids written lately: two generations of up to ``capacity`` ids each.

    When the current generation fills up it becomes the previous one, so memory stays
    bounded while traces that are still receiving spans are remembered.
    """

    def __init__(self, capacity: int = 131_072) -> None:
        self._capacity = capacity
        self._current: set[str] = set()
        self._previous: set[str] = set()

    def __contains__(self, trace_id: object) -> bool:
        return trace_id in self._current or trace_id in self._previous

    def __len__(self) -> int:
        return len(self._current | self._previous)

    def add_all(self, trace_ids: Iterable[str]) -> None:
        """Remember these trace ids."""
        for trace_id in trace_ids:
            self._current.add(trace_id)
            if len(self._current) >= self._capacity:
                self._previous, self._current = self._current, set()


def append_spans_and_traces(
    con: duckdb.DuckDBPyConnection,
    rows: pa.Table,
    recent: RecentTraces,
    duplicates: DuplicateMarker | None = None,
    content: LogContent | None = None,
) -> int:
    """Insert span rows and fold the new ones into ``traces`` in one transaction; return
    how many spans were new. ``duplicates`` marks likely duplicate llm spans in the same
    transaction; ``content`` fills empty inputs and outputs from stored content log events.
    The caller serializes writers."""
    cur = con.cursor()
    try:
        if content is not None:
            try:
                rows = content.fill_spans(cur, rows)
            except Exception:  # the spans are stored without it, never lost over it
                log.exception("could not fill spans from content log events")
        try:
            new, trace_ids = _write(cur, rows, recent, duplicates, optimistic=True)
        except duckdb.ConstraintException:
            log.debug("batch holds stored spans or traces; writing it with conflict checks")
            new, trace_ids = _write(cur, rows, recent, duplicates, optimistic=False)
    finally:
        cur.close()
    recent.add_all(trace_ids)
    return new


def _write(
    cur: duckdb.DuckDBPyConnection,
    rows: pa.Table,
    recent: RecentTraces,
    duplicates: DuplicateMarker | None,
    *,
    optimistic: bool,
) -> tuple[int, list[str]]:
    columns = ", ".join(f'"{name}"' for name in rows.column_names)
    insert = f"INSERT INTO spans ({columns}) SELECT {columns} FROM _incoming_spans"
    cur.register("_incoming_spans", rows)
    try:
        cur.execute("BEGIN TRANSACTION")
        try:
            if optimistic:
                cur.execute(insert).fetchall()
                inserted = rows
            else:
                keys = cur.execute(
                    insert.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)
                    + " RETURNING trace_id, span_id"
                ).fetchall()
                inserted = new_spans(rows, keys)
            marked = duplicates.mark(cur, inserted) if duplicates is not None else []
            fragments = trace_fragments(inserted)
            trace_ids: list[str] = fragments["trace_id"].to_pylist()
            if optimistic:
                seen = pa.array([trace_id in recent for trace_id in trace_ids], pa.bool_())
                write_fragments(cur, fragments.filter(pc.invert(seen)), merge=False)
                write_fragments(cur, fragments.filter(seen), merge=True)
            else:
                write_fragments(cur, fragments, merge=True)
            if marked:
                drop_usage_entries(cur, marked)
            cur.execute("COMMIT")
        except BaseException:
            _rollback(cur)
            raise
    finally:
        cur.unregister("_incoming_spans")
    return inserted.num_rows, trace_ids


def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:  # a failed COMMIT has already ended the transaction
        log.debug("rollback after a failed commit", exc_info=True)
