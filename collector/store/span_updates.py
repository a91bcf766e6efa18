"""Reading stored spans by key and writing changed ones back, inside one write transaction.

The OTLP writer only ever adds spans (a resent span is skipped). Receivers whose protocol
updates a span after it was sent (Langfuse's ingestion API: a ``span-update`` arriving in a
later request than its ``span-create``) read the stored rows they change and write them
back here, with the caller's cursor of ``Store.transaction()``, so nothing else writes in
between: new spans are inserted, stored ones are updated in place (same key, same rowid),
and the ``traces`` rows of every trace touched are recomputed from its spans
(``rebuild_traces``), which stays exact when a span's tokens, times or output change.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from .schema import SPAN_COLUMN_NAMES
from .traces import rebuild_traces

Key = tuple[str, str]
_KEY_COLUMNS = ("trace_id", "span_id")
_STORED_SQL = """
SELECT s.trace_id, s.span_id, s.project, raw_attributes(s.attributes, s.input, s.output)
FROM spans AS s
SEMI JOIN _lw_keys AS k ON s.trace_id = k.trace_id AND s.span_id = k.span_id
"""
_TRACES_OF_SQL = """
SELECT span_id, min(trace_id) FROM spans
WHERE span_id IN (SELECT span_id FROM _lw_span_ids)
GROUP BY span_id
"""
_SET = ", ".join(f'"{name}" = i."{name}"' for name in SPAN_COLUMN_NAMES if name not in _KEY_COLUMNS)
_UPDATE_SQL = f"""
UPDATE spans SET {_SET}
FROM _lw_replaced AS i
WHERE spans.trace_id = i.trace_id AND spans.span_id = i.span_id
"""
_COLUMNS = ", ".join(f'"{name}"' for name in SPAN_COLUMN_NAMES)
_INSERT_SQL = f"INSERT INTO spans ({_COLUMNS}) SELECT {_COLUMNS} FROM _lw_new"


def stored_spans(
    cur: duckdb.DuckDBPyConnection, keys: Collection[Key]
) -> dict[Key, tuple[str, str]]:
    """The stored spans among ``keys`` ((trace id, span id)): key → (project, attributes as
    JSON text, with the input and output copied into the columns put back)."""
    if not keys:
        return {}
    trace_ids, span_ids = zip(*keys, strict=True)
    cur.register("_lw_keys", pa.table({"trace_id": trace_ids, "span_id": span_ids}))
    try:
        rows = cur.execute(_STORED_SQL).fetchall()
    finally:
        cur.unregister("_lw_keys")
    return {(trace_id, span_id): (project, attrs) for trace_id, span_id, project, attrs in rows}


def traces_of_spans(cur: duckdb.DuckDBPyConnection, span_ids: Collection[str]) -> dict[str, str]:
    """The trace of each stored span id in ``span_ids`` (the smallest trace id should two
    traces hold one)."""
    if not span_ids:
        return {}
    cur.register("_lw_span_ids", pa.table({"span_id": sorted(span_ids)}))
    try:
        rows = cur.execute(_TRACES_OF_SQL).fetchall()
    finally:
        cur.unregister("_lw_span_ids")
    return {str(span_id): str(trace_id) for span_id, trace_id in rows}


def write_spans(cur: duckdb.DuckDBPyConnection, rows: pa.Table, stored: Collection[Key]) -> None:
    """Write normalized span ``rows`` (one per key): the keys in ``stored`` update their
    stored row, the others are inserted; then the traces touched are recomputed. Run it
    inside ``Store.transaction()``, after reading ``stored`` in the same transaction."""
    if rows.num_rows == 0:
        return
    rows = rows.select(list(SPAN_COLUMN_NAMES))
    keys = pc.binary_join_element_wise(rows["trace_id"], rows["span_id"], "/")
    known = pa.array(sorted(f"{trace_id}/{span_id}" for trace_id, span_id in stored), pa.string())
    replacing = pc.is_in(keys, value_set=known)
    for name, sql, part in (
        ("_lw_replaced", _UPDATE_SQL, rows.filter(replacing)),
        ("_lw_new", _INSERT_SQL, rows.filter(pc.invert(replacing))),
    ):
        if part.num_rows == 0:
            continue
        cur.register(name, part)
        try:
            cur.execute(sql).fetchall()
        finally:
            cur.unregister(name)
    trace_ids: Sequence[str] = sorted(set(rows["trace_id"].to_pylist()))
    rebuild_traces(cur, trace_ids)
