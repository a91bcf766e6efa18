"""The ``logs`` table, and GenAI content log events joined to their spans.

OTel GenAI instrumentations that capture content as events (``EVENT_ONLY``) send a call's
messages as log records beside its span, exported separately, in either order. Every record
is a row of ``logs``; a content event's messages (decoded by collector/semconv/logs.py) fill
the input and output of the span with the same trace and span id, only where the span has
none, whichever arrives first:

- the log first: its span key is remembered as pending; when the span is written, its row
  is completed from the stored events before it is inserted (``fill_spans``);
- the span first: the events' messages are written into the stored span (``append_logs``),
  and the trace summaries of those traces are recomputed.

Several events of one span (the per-message events) are joined in time order, then arrival
order. Pending keys are kept for the last ``capacity`` spans and reloaded from the table when
the store opens.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from .traces import rebuild_traces

# (column, DuckDB type, Arrow type): one definition for the migration and the batches.
LOG_COLUMNS: tuple[tuple[str, str, pa.DataType], ...] = (
    ("log_id", "VARCHAR PRIMARY KEY", pa.string()),
    ("project", "VARCHAR NOT NULL", pa.string()),
    ("trace_id", "VARCHAR", pa.string()),
    ("span_id", "VARCHAR", pa.string()),
    ("time", "TIMESTAMP", pa.timestamp("us")),
    ("observed_time", "TIMESTAMP", pa.timestamp("us")),
    ("severity_number", "INTEGER", pa.int32()),
    ("severity_text", "VARCHAR", pa.string()),
    ("event_name", "VARCHAR", pa.string()),
    ("body", "VARCHAR", pa.string()),
    ("attributes", "VARCHAR", pa.string()),  # JSON text
    ("resource", "VARCHAR", pa.string()),  # JSON text
    ("scope_name", "VARCHAR", pa.string()),
    ("service_name", "VARCHAR", pa.string()),
    ("input_messages", "VARCHAR", pa.string()),  # JSON text: canonical messages
    ("output_messages", "VARCHAR", pa.string()),  # JSON text: canonical messages
    ("seq", "BIGINT NOT NULL", pa.int64()),  # arrival order, to order a span's events
    ("ingested_at", "TIMESTAMP NOT NULL", pa.timestamp("us")),
)
LOG_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _, _ in LOG_COLUMNS)
LOG_ARROW_SCHEMA = pa.schema([(name, arrow) for name, _, arrow in LOG_COLUMNS])

_HAS_CONTENT = "(input_messages IS NOT NULL OR output_messages IS NOT NULL)"
_CONTENT_SQL = f"""
SELECT l.trace_id, l.span_id, l.input_messages, l.output_messages, l.log_id
FROM logs AS l SEMI JOIN _content_keys AS k
  ON l.trace_id = k.trace_id AND l.span_id = k.span_id
  AND (k.project IS NULL OR l.project = k.project)
WHERE {_HAS_CONTENT}
ORDER BY l.trace_id, l.span_id, l.time NULLS LAST, l.seq
"""
# A side is written when the span has none, or holds exactly what the earlier events of the
# span gave (per-message events arrive one by one: each completes the previous fill).
_FILL_SQL = """
UPDATE spans SET
    input = CASE WHEN fill_input THEN c.input ELSE spans.input END,
    input_messages = CASE WHEN fill_input THEN c.input_messages ELSE spans.input_messages END,
    output = CASE WHEN fill_output THEN c.output ELSE spans.output END,
    output_messages = CASE WHEN fill_output THEN c.output_messages
                           ELSE spans.output_messages END
FROM (
    SELECT c.*, s.span_id AS matched,
           c.input IS NOT NULL AND (s.input IS NULL OR s.input_messages = c.earlier_input)
               AS fill_input,
           c.output IS NOT NULL AND (s.output IS NULL OR s.output_messages = c.earlier_output)
               AS fill_output
    FROM _content AS c JOIN spans AS s ON s.trace_id = c.trace_id AND s.span_id = c.span_id
) AS c
WHERE spans.trace_id = c.trace_id AND spans.span_id = c.matched
  AND (fill_input OR fill_output)
RETURNING spans.trace_id
"""
Key = tuple[str, str]
SPAN_CONTENT_COLUMNS = ("input", "input_messages", "output", "output_messages")
CONTENT_SCHEMA = pa.schema(
    [
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("input", pa.string()),
        ("input_messages", pa.string()),
        ("output", pa.string()),
        ("output_messages", pa.string()),
        ("earlier_input", pa.string()),
        ("earlier_output", pa.string()),
    ]
)


class LogContent:
    """Joins content log events to spans, whichever arrives first (see the module docstring)."""

    def __init__(self, capacity: int = 131_072) -> None:
        self._capacity = capacity
        # Once project keys are in use, a content event fills only a span of its own project
        # (a key's logs land in its project, so they cannot fill another project's spans).
        # Without keys, an app's logs may carry a different resource than its spans.
        self.same_project_only = False
        self._current: set[Key] = set()
        self._previous: set[Key] = set()

    def load(self, con: duckdb.DuckDBPyConnection) -> None:
        """Remember the content events stored without their span (at start-up)."""
        rows = con.execute(
            f"SELECT DISTINCT trace_id, span_id FROM logs AS l WHERE {_HAS_CONTENT} "
            "AND trace_id IS NOT NULL AND span_id IS NOT NULL AND NOT EXISTS ("
            "SELECT 1 FROM spans AS s WHERE s.trace_id = l.trace_id AND s.span_id = l.span_id)"
        ).fetchall()
        self._remember((str(t), str(s)) for t, s in rows)

    def fill_spans(self, cur: duckdb.DuckDBPyConnection, rows: pa.Table) -> pa.Table:
        """``rows`` (span rows about to be inserted) with input/output filled from pending
        content events where the span has none."""
        if not self._current and not self._previous:
            return rows
        trace_ids = rows["trace_id"].to_pylist()
        span_ids = rows["span_id"].to_pylist()
        keys = list(zip(trace_ids, span_ids, strict=True))
        wanted = [key for key in keys if self._pending(key)]
        if not wanted:
            return rows
        projects = (
            dict(zip(keys, rows["project"].to_pylist(), strict=True))
            if self.same_project_only
            else None
        )
        # The keys stay pending: if this transaction fails, the writer's retry fills again.
        content = _content(cur, wanted, projects=projects)
        if not content:
            return rows
        columns = {name: rows[name].to_pylist() for name in SPAN_CONTENT_COLUMNS}
        for i, key in enumerate(zip(trace_ids, span_ids, strict=True)):
            found = content.get(key)
            if found is None:
                continue
            for side in ("input", "output"):
                if columns[side][i] is None and found[side] is not None:
                    columns[side][i] = found[side]
                    columns[side + "_messages"][i] = found[side + "_messages"]
        for name, values in columns.items():
            index = rows.schema.get_field_index(name)
            rows = rows.set_column(index, name, pa.array(values, pa.string()))
        return rows

    def append_logs(self, cur: duckdb.DuckDBPyConnection, table: pa.Table) -> int:
        """Insert log rows (inside the caller's transaction) and join the new content events
        to stored spans; return how many rows were new."""
        if table.num_rows == 0:
            return 0
        columns = ", ".join(f'"{name}"' for name in table.column_names)
        cur.register("_incoming_logs", table)
        try:
            inserted = cur.execute(
                f"INSERT OR IGNORE INTO logs ({columns}) SELECT {columns} FROM _incoming_logs "
                "RETURNING log_id"
            ).fetchall()
        finally:
            cur.unregister("_incoming_logs")
        new_ids = pa.array([row[0] for row in inserted], pa.string())
        fresh = table.filter(pc.is_in(table["log_id"], new_ids))
        has_content = pc.or_(
            pc.is_valid(fresh["input_messages"]), pc.is_valid(fresh["output_messages"])
        )
        joinable = pc.and_(pc.is_valid(fresh["trace_id"]), pc.is_valid(fresh["span_id"]))
        events = fresh.filter(pc.and_(has_content, joinable))
        trace_ids, span_ids = events["trace_id"].to_pylist(), events["span_id"].to_pylist()
        keys = sorted(set(zip(trace_ids, span_ids, strict=True)))
        if keys:
            self._join_stored(cur, keys, set(new_ids.to_pylist()))
        return len(inserted)

    def _join_stored(
        self, cur: duckdb.DuckDBPyConnection, keys: list[Key], new_ids: set[str]
    ) -> None:
        stored = _stored_keys(cur, keys)
        content = _content(cur, keys, new_ids, stored if self.same_project_only else None)
        self._remember(key for key in keys if key not in stored)
        rows = [
            {"trace_id": key[0], "span_id": key[1], **found}
            for key, found in content.items()
            if key in stored
        ]
        if not rows:
            return
        cur.register("_content", pa.Table.from_pylist(rows, schema=CONTENT_SCHEMA))
        try:
            changed = cur.execute(_FILL_SQL).fetchall()
        finally:
            cur.unregister("_content")
        if changed:
            rebuild_traces(cur, sorted({str(row[0]) for row in changed}))

    def _pending(self, key: Key) -> bool:
        return key in self._current or key in self._previous

    def _remember(self, keys: Iterable[Key]) -> None:
        for key in keys:
            self._current.add(key)
            if len(self._current) >= self._capacity:
                self._previous, self._current = self._current, set()


def _keys_table(keys: list[Key], projects: dict[Key, str] | None = None) -> pa.Table:
    """Span keys, with the project each span belongs to when known: content events join
    only spans of their own project (a log sent with one project's key never fills another
    project's span)."""
    return pa.table(
        {
            "trace_id": [k[0] for k in keys],
            "span_id": [k[1] for k in keys],
            "project": pa.array([(projects or {}).get(k) for k in keys], pa.string()),
        }
    )


def _stored_keys(cur: duckdb.DuckDBPyConnection, keys: list[Key]) -> dict[Key, str]:
    cur.register("_content_keys", _keys_table(keys))
    try:
        rows = cur.execute(
            "SELECT s.trace_id, s.span_id, s.project FROM spans AS s SEMI JOIN _content_keys AS k "
            "ON s.trace_id = k.trace_id AND s.span_id = k.span_id"
        ).fetchall()
    finally:
        cur.unregister("_content_keys")
    return {(str(t), str(s)): str(p) for t, s, p in rows}


def _content(
    cur: duckdb.DuckDBPyConnection,
    keys: list[Key],
    new_ids: set[str] | None = None,
    projects: dict[Key, str] | None = None,
) -> dict[Key, dict[str, Any]]:
    """The merged messages (and their text) of the content events of each span key, and
    (``earlier_*``) the messages of the events other than ``new_ids``, as stored JSON."""
    from ..semconv.messages import render_text  # the store sits below semconv

    cur.register("_content_keys", _keys_table(keys, projects))
    try:
        rows = cur.execute(_CONTENT_SQL).fetchall()
    finally:
        cur.unregister("_content_keys")
    merged: dict[Key, list[list[Any]]] = {}
    for trace_id, span_id, inputs, outputs, log_id in rows:
        found = merged.setdefault((str(trace_id), str(span_id)), [[], [], [], []])
        found[0].extend(json.loads(inputs) if inputs else [])
        found[1].extend(json.loads(outputs) if outputs else [])
        if new_ids is not None and log_id not in new_ids:
            found[2].extend(json.loads(inputs) if inputs else [])
            found[3].extend(json.loads(outputs) if outputs else [])
    return {
        key: {
            "input": render_text(inputs) if inputs else None,
            "input_messages": _json(inputs),
            "output": render_text(outputs) if outputs else None,
            "output_messages": _json(outputs),
            "earlier_input": _json(earlier_in),
            "earlier_output": _json(earlier_out),
        }
        for key, (inputs, outputs, earlier_in, earlier_out) in merged.items()
    }


def _json(messages: list[Any]) -> str | None:
    """Messages as the compact JSON the spans table stores (None for none)."""
    if not messages:
        return None
    return json.dumps(messages, ensure_ascii=False, separators=(",", ":"))
