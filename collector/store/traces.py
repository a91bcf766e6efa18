"""The ``traces`` table: one summary row per trace, kept current by the span writer.

Listing, filtering and counting traces must not group millions of spans on every request, so
the writer maintains this table in the same transaction that stores the spans
(``trace_writer.append_spans_and_traces``). Spans of one trace may arrive in several
requests, out of order, and may be resent; the table stays exact because only spans that
were really inserted are summarized into per-trace fragments (``trace_fragments``), and a
fragment merges into a stored row with associative, commutative rules: sums, min/max, a
union of tags, and "the value with the lowest rank wins" for fields taken from one span.

Ranks (lower wins; exact ties go to the lower span id within a batch, to the stored row
across batches):

- ``root_rank``: root spans (no parent) before child spans, then the earliest start. The
  winning span gives ``root_span_id``, ``root_name``, ``project`` and ``service_name``.
- ``input_rank``: the same order among spans that carry an input.
- ``output_rank``: root spans first, then the latest end, among spans with an output.

So before the root span arrives the row shows the earliest span; once it arrives, the root.
``total_tokens`` and ``cost_usd`` count each model call once (``usage.py``): they are
recomputed from ``usage_spans``, the trace's usage-reporting spans, whose lists concatenate
when fragments fold.
``session_id`` and ``user_id`` are the smallest non-null value among the trace's spans
(usually there is one). ``input_preview``/``output_preview`` hold the first
``PREVIEW_CHARS`` characters; the full text stays in ``spans``. Every column costs append
time on each commit, so derived values (``duration_ms``) are computed when read.
``rebuild_traces`` recomputes rows from the stored spans with the same rules in SQL (the
migration's backfill, and a repair tool).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa

from .usage import USAGE_SPANS_ARROW, USAGE_SPANS_SQL, counted_sql, duplicate_sql, usage_entry_sql

PREVIEW_CHARS = 200
CHILD_OFFSET = 1 << 61  # added to a child span's rank: any root span ranks first
END_BASE = 1 << 60  # output_rank uses END_BASE - end (µs): the latest end ranks first

# Migration 0015_create_traces creates the columns up to output_rank, and 0016 adds
# usage_spans: change them only together with a new migration (and keep the shipped ones
# creating what they created).
TRACE_COLUMNS: tuple[tuple[str, str, pa.DataType], ...] = (
    ("trace_id", "VARCHAR PRIMARY KEY", pa.string()),
    ("project", "VARCHAR NOT NULL", pa.string()),
    ("root_span_id", "VARCHAR NOT NULL", pa.string()),
    ("root_name", "VARCHAR NOT NULL", pa.string()),
    ("service_name", "VARCHAR", pa.string()),
    ("start_time", "TIMESTAMP NOT NULL", pa.timestamp("us")),
    ("end_time", "TIMESTAMP NOT NULL", pa.timestamp("us")),
    ("span_count", "BIGINT NOT NULL", pa.int64()),
    ("error_count", "BIGINT NOT NULL", pa.int64()),
    ("total_tokens", "BIGINT", pa.int64()),
    ("cost_usd", "DOUBLE", pa.float64()),
    ("session_id", "VARCHAR", pa.string()),
    ("user_id", "VARCHAR", pa.string()),
    ("tags", "VARCHAR[] NOT NULL", pa.list_(pa.string())),
    ("input_preview", "VARCHAR", pa.string()),
    ("output_preview", "VARCHAR", pa.string()),
    ("root_rank", "BIGINT NOT NULL", pa.int64()),
    ("input_rank", "BIGINT", pa.int64()),
    ("output_rank", "BIGINT", pa.int64()),
    ("usage_spans", USAGE_SPANS_SQL, USAGE_SPANS_ARROW),
)
TRACE_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _, _ in TRACE_COLUMNS)
TRACE_ARROW_SCHEMA = pa.schema([(name, arrow) for name, _, arrow in TRACE_COLUMNS])
_COUNTED = (
    f"{counted_sql('usage_spans', 'total_tokens')} AS total_tokens, "
    f"{counted_sql('usage_spans', 'cost_usd')} AS cost_usd"
)
"""Totals from the usage list, each model call counted once (``usage.py``)."""

_SUMMARY_SQL = f"""
SELECT * REPLACE ({_COUNTED}) FROM (
SELECT
    trace_id,
    arg_min(project, root_rank) AS project,
    arg_min(span_id, root_rank) AS root_span_id,
    arg_min(name, root_rank) AS root_name,
    arg_min_null(service_name, root_rank) AS service_name,
    min(start_time) AS start_time,
    max(end_time) AS end_time,
    count(*) AS span_count,
    count(*) FILTER (WHERE status = 'error') AS error_count,
    NULL::BIGINT AS total_tokens,
    NULL::DOUBLE AS cost_usd,
    min(session_id) AS session_id,
    min(user_id) AS user_id,
    coalesce(list_sort(list_distinct(flatten(list(tags)))), []) AS tags,
    arg_min(left(input, {PREVIEW_CHARS}), root_rank) AS input_preview,
    arg_min(left(output, {PREVIEW_CHARS}), output_rank) AS output_preview,
    min(root_rank) AS root_rank,
    min(root_rank) FILTER (WHERE input IS NOT NULL) AS input_rank,
    min(output_rank) FILTER (WHERE output IS NOT NULL) AS output_rank,
    list_sort(list({usage_entry_sql()})
        FILTER (WHERE (total_tokens IS NOT NULL OR cost_usd IS NOT NULL)
            AND NOT {duplicate_sql()})) AS usage_spans
FROM (
    SELECT *,
        (parent_span_id IS NOT NULL)::BIGINT * {CHILD_OFFSET} + epoch_us(start_time) AS root_rank,
        (parent_span_id IS NOT NULL)::BIGINT * {CHILD_OFFSET} + ({END_BASE} - epoch_us(end_time))
            AS output_rank
    FROM spans
    WHERE {{where}}
)
GROUP BY trace_id
)
"""


_COLUMN_LIST = ", ".join(TRACE_COLUMN_NAMES)
_ROOT_KEY = "(root_rank, root_span_id)"
COMBINE_SQL = f"""
SELECT * REPLACE ({_COUNTED}) FROM (
SELECT
    trace_id,
    arg_min(project, {_ROOT_KEY}) AS project,
    arg_min(root_span_id, {_ROOT_KEY}) AS root_span_id,
    arg_min(root_name, {_ROOT_KEY}) AS root_name,
    arg_min_null(service_name, {_ROOT_KEY}) AS service_name,
    min(start_time) AS start_time,
    max(end_time) AS end_time,
    sum(span_count)::BIGINT AS span_count,
    sum(error_count)::BIGINT AS error_count,
    NULL::BIGINT AS total_tokens,
    NULL::DOUBLE AS cost_usd,
    min(session_id) AS session_id,
    min(user_id) AS user_id,
    coalesce(list_sort(list_distinct(flatten(list(tags)))), []) AS tags,
    arg_min(input_preview, input_rank) AS input_preview,
    arg_min(output_preview, output_rank) AS output_preview,
    min(root_rank) AS root_rank,
    min(input_rank) AS input_rank,
    min(output_rank) AS output_rank,
    nullif(list_sort(flatten(list(usage_spans))), []) AS usage_spans
FROM (
    SELECT {_COLUMN_LIST} FROM _stored_traces
    UNION ALL
    SELECT {_COLUMN_LIST} FROM _trace_fragments
)
GROUP BY trace_id
)
"""
"""Fold stored rows (``_stored_traces``) and fragments (``_trace_fragments``) per trace."""
INSERT_SQL = f"INSERT INTO traces ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM _trace_fragments"
# Up to this many trace ids go into the DELETE as a literal list, which DuckDB answers with
# ART index lookups (about 0.05 ms each at 1M traces); more use a join that scans trace_id.
MAX_LISTED_IDS = 2048


def traces_select(where: str = "true") -> str:
    """The SELECT that computes trace rows from the stored spans matching ``where`` (SQL on
    ``spans``), with the same rules as the writer; the lake's ``traces`` view is this."""
    return _SUMMARY_SQL.format(where=where)


def rebuild_traces(con: duckdb.DuckDBPyConnection, trace_ids: Sequence[str] | None = None) -> int:
    """Recompute trace rows from the stored spans (all, or ``trace_ids``); return how many.

    Run it inside a transaction when other writers may be active.
    """
    if trace_ids is None:
        con.execute("DELETE FROM traces").fetchall()
        where, params = "true", []
    else:
        ids = list(trace_ids)
        if not ids:
            return 0
        con.execute("DELETE FROM traces WHERE list_contains(?, trace_id)", [ids]).fetchall()
        where, params = "list_contains(?, trace_id)", [ids]
    sql = traces_select(where)
    rows = con.execute(f"INSERT INTO traces ({_COLUMN_LIST}) {sql}", params).fetchall()
    return int(rows[0][0]) if rows else 0


def rebuild_listed_traces(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[int, int]:
    """Recompute the rows of the traces whose ids ``relation`` (a table or view with a
    ``trace_id`` column) lists, from the spans still stored; return (rows taken out, rows
    written back). A listed trace with no spans left loses its row. For a large set of ids
    (a deletion) this joins instead of passing a list; run it inside a transaction."""
    listed = f"trace_id IN (SELECT trace_id FROM {relation})"
    removed = con.execute(f"DELETE FROM traces WHERE {listed}").fetchall()
    sql = traces_select(listed)
    written = con.execute(f"INSERT INTO traces ({_COLUMN_LIST}) {sql}").fetchall()
    return (int(removed[0][0]) if removed else 0, int(written[0][0]) if written else 0)


def write_fragments(cur: duckdb.DuckDBPyConnection, fragments: pa.Table, *, merge: bool) -> None:
    """Write per-trace fragments into ``traces`` inside the caller's transaction.

    ``merge=False`` inserts them as new rows (a stored trace id raises ConstraintException).
    ``merge=True`` takes the stored rows of those traces out (one ``DELETE ... RETURNING``)
    and inserts each folded with its fragment. DuckDB's ``ON CONFLICT DO UPDATE`` measured
    about 0.3 ms per row at 200k traces; this about 0.05 ms per row at 1M.
    """
    if fragments.num_rows == 0:
        return
    cur.register("_trace_fragments", fragments)
    sql = INSERT_SQL
    if merge:
        stored = cur.sql(_take_stored_sql(fragments)).to_arrow_table()
        if stored.num_rows:
            cur.register("_stored_traces", stored)
            sql = f"INSERT INTO traces ({_COLUMN_LIST}) {COMBINE_SQL}"
    cur.execute(sql).fetchall()
    # Left registered when a statement fails: the caller rolls back first, then retries.
    cur.unregister("_trace_fragments")
    if sql is not INSERT_SQL:
        cur.unregister("_stored_traces")


_KEPT_USAGE = "list_filter(usage_spans, lambda u: NOT list_contains(dropped.span_ids, u.span_id))"
_DROP_USAGE_SQL = f"""
UPDATE traces SET
    usage_spans = nullif({_KEPT_USAGE}, []),
    total_tokens = {counted_sql(_KEPT_USAGE, "total_tokens")},
    cost_usd = {counted_sql(_KEPT_USAGE, "cost_usd")}
FROM (SELECT trace_id, list(span_id) AS span_ids FROM _dropped_usage GROUP BY trace_id) AS dropped
WHERE traces.trace_id = dropped.trace_id
"""


def drop_usage_entries(cur: duckdb.DuckDBPyConnection, spans: Sequence[tuple[str, str]]) -> None:
    """Take ``spans`` ((trace id, span id) pairs just marked as duplicates) out of their
    traces' usage lists and recount those traces' totals, in the caller's transaction."""
    if not spans:
        return
    trace_ids, span_ids = zip(*spans, strict=True)
    cur.register("_dropped_usage", pa.table({"trace_id": trace_ids, "span_id": span_ids}))
    try:
        cur.execute(_DROP_USAGE_SQL).fetchall()
    finally:
        cur.unregister("_dropped_usage")


def _take_stored_sql(fragments: pa.Table) -> str:
    if fragments.num_rows > MAX_LISTED_IDS:
        where = "trace_id IN (SELECT trace_id FROM _trace_fragments)"
    else:
        quoted = (
            "'" + str(trace_id).replace("'", "''") + "'"
            for trace_id in fragments["trace_id"].to_pylist()
        )
        where = f"trace_id IN ({', '.join(quoted)})"
    return f"DELETE FROM traces WHERE {where} RETURNING {_COLUMN_LIST}"
