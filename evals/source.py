"""Reading spans for evaluation from the store: windows by rowid, trace context, traces.

The ``spans`` table is append-only and one writer commits at a time, so a row's ``rowid``
only grows with commit order; a window ``(after, until]`` of rowids is a stable unit of
work that a watermark can step through without missing or repeating rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

# Everything evaluators read; the raw attributes, resource and events stay in the store.
SPAN_FIELDS = (
    "project, trace_id, span_id, parent_span_id, name, kind, status, status_message, "
    "start_time, end_time, duration_ms, service_name, model, provider, input, output, "
    "input_tokens, output_tokens, total_tokens, cost_usd, session_id, user_id, tags, "
    "metadata, ingested_at"
)

CONTEXT_SQL = """
SELECT trace_id,
       list(output ORDER BY start_time, span_id)
           FILTER (WHERE kind = 'retriever' AND output IS NOT NULL) AS retrieved_context,
       arg_min(input, start_time) FILTER (WHERE parent_span_id IS NULL) AS root_input
FROM spans
WHERE start_time BETWEEN ? AND ? AND trace_id IN (SELECT trace_id FROM _context_ids)
GROUP BY trace_id
"""
# Spans of one trace are looked for within this margin around the batch's own start times,
# so DuckDB can skip row groups by their zone maps (50k spans against 1M: 0.14 s vs 0.19 s).
CONTEXT_WINDOW = dt.timedelta(hours=6)


def query_arrow(
    cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None
) -> pa.Table:
    """Run a query and return its result as an Arrow table (through a relation, which
    DuckDB converts without an extra copy)."""
    relation = cur.sql(sql, params=list(params) if params is not None else None)
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    result: pa.Table = fetch()
    return result


def max_rowid(cur: duckdb.DuckDBPyConnection) -> int:
    """The highest rowid in ``spans`` (-1 when empty)."""
    row = cur.execute("SELECT coalesce(max(rowid), -1) FROM spans").fetchall()[0]
    return int(row[0]) if row else -1


def read_window(
    cur: duckdb.DuckDBPyConnection,
    after: int,
    until: int,
    where: str = "TRUE",
    params: Sequence[Any] = (),
    *,
    limit: int | None = None,
) -> pa.Table:
    """Spans with ``after < rowid <= until`` matching ``where``, in rowid order, with a
    ``_rowid`` column."""
    sql = (
        f"SELECT rowid AS _rowid, {SPAN_FIELDS} FROM spans "
        f"WHERE rowid > ? AND rowid <= ? AND ({where}) ORDER BY rowid"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return query_arrow(cur, sql, [after, until, *params])


def with_context(cur: duckdb.DuckDBPyConnection | None, spans: pa.Table) -> pa.Table:
    """``spans`` plus ``retrieved_context`` (retriever outputs of each span's trace) and
    ``root_input`` (the trace root's input), read from the store, or from ``spans``
    itself when ``cur`` is None."""
    spans = _drop(spans, ("retrieved_context", "root_input"))
    if spans.num_rows == 0:
        context = pa.table(
            {
                "trace_id": pa.array([], pa.string()),
                "retrieved_context": pa.array([], pa.list_(pa.string())),
                "root_input": pa.array([], pa.string()),
            }
        )
    elif cur is None:
        context = _context_from_rows(spans.to_pylist())
    else:
        trace_ids = pc.unique(spans.column("trace_id"))
        cur.register("_context_ids", pa.table({"trace_id": trace_ids}))
        try:
            context = query_arrow(cur, CONTEXT_SQL, _time_range(spans))
        finally:
            cur.unregister("_context_ids")
    # Line the context up with the spans in Arrow: position of each span's trace, then take.
    where = pc.index_in(spans.column("trace_id"), value_set=context.column("trace_id"))
    retrieved = context.column("retrieved_context").take(where)
    empty = pa.array([[]] * spans.num_rows, pa.list_(pa.string()))
    retrieved = pc.if_else(pc.is_null(retrieved), empty, retrieved)
    roots = context.column("root_input").take(where)
    return spans.append_column("retrieved_context", retrieved).append_column("root_input", roots)


def _time_range(spans: pa.Table) -> list[dt.datetime]:
    """The batch's start times widened by ``CONTEXT_WINDOW`` (everything when unknown)."""
    if "start_time" not in spans.column_names:
        return [dt.datetime.min, dt.datetime.max]
    bounds = pc.min_max(spans.column("start_time")).as_py()
    if bounds["min"] is None:
        return [dt.datetime.min, dt.datetime.max]
    return [bounds["min"] - CONTEXT_WINDOW, bounds["max"] + CONTEXT_WINDOW]


def _context_from_rows(rows: Iterable[dict[str, Any]]) -> pa.Table:
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_trace[row["trace_id"]].append(row)
    trace_ids, retrieved, roots = [], [], []
    for trace_id, spans in by_trace.items():
        spans.sort(key=lambda r: (r.get("start_time") is None, r.get("start_time"), r["span_id"]))
        trace_ids.append(trace_id)
        retrieved.append(
            [s["output"] for s in spans if s.get("kind") == "retriever" and s.get("output")]
        )
        parentless = [s for s in spans if not s.get("parent_span_id")]
        roots.append(parentless[0].get("input") if parentless else None)
    return pa.table(
        {
            "trace_id": pa.array(trace_ids, pa.string()),
            "retrieved_context": pa.array(retrieved, pa.list_(pa.string())),
            "root_input": pa.array(roots, pa.string()),
        }
    )


def load_traces(
    cur: duckdb.DuckDBPyConnection, trace_ids: Iterable[str]
) -> dict[str, list[dict[str, Any]]]:
    """Every span of each trace, as row dicts."""
    ids = pa.table({"trace_id": pa.array(sorted(set(trace_ids)), pa.string())})
    cur.register("_trace_ids", ids)
    try:
        table = query_arrow(
            cur,
            f"SELECT {SPAN_FIELDS} FROM spans WHERE trace_id IN "
            "(SELECT trace_id FROM _trace_ids) ORDER BY trace_id, start_time, span_id",
        )
    finally:
        cur.unregister("_trace_ids")
    traces: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in table.to_pylist():
        traces[row["trace_id"]].append(row)
    return dict(traces)


def _drop(table: pa.Table, names: Iterable[str]) -> pa.Table:
    present = [n for n in names if n in table.column_names]
    return table.drop_columns(present) if present else table


def prepare(
    cur: duckdb.DuckDBPyConnection | None,
    evaluator_target: str,
    needs_context: bool,
    spans: pa.Table,
) -> tuple[pa.Table, dict[str, list[dict[str, Any]]] | None]:
    """Spans ready for one evaluator: trace evaluators get the window's root spans and every
    span of those traces; evaluators needing context get ``retrieved_context`` and
    ``root_input`` columns."""
    spans = _drop(spans, ("_rowid",))
    traces = None
    if evaluator_target == "trace":
        every = spans
        spans = spans.filter(pc.is_null(spans.column("parent_span_id")))
        if cur is not None and spans.num_rows:
            traces = load_traces(cur, spans.column("trace_id").to_pylist())
        elif cur is None:
            traces = defaultdict(list)
            for row in every.to_pylist():
                traces[row["trace_id"]].append(row)
    if needs_context and "retrieved_context" not in spans.column_names:
        spans = with_context(cur, spans)
    return spans, traces
