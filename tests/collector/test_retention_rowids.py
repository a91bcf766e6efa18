"""Deleting spans can move DuckDB rowids: a checkpoint may compact row groups with deletions
and renumber the rows in them (DuckDB 2 does; DuckDB 1.4 leaves a table with a primary key,
as spans has, uncompacted). Online evaluators read spans by rowid (their watermark), so a
deletion lowers each watermark by the spans it deleted at or below it; this checks, with
enough rows for DuckDB to compact, that no span left above a watermark falls below it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from loopwise.collector.store import Store, rebuild_traces
from loopwise.collector.store.retention import Selection, delete_data

ROWS = 400_000
ROW_GROUP = 122_880  # DuckDB's row group size
# Every third span of the first three row groups: what is left fits in two, so the
# checkpoint merges them and renumbers their rows.
GONE = 3 * ROW_GROUP


@pytest.mark.slow
def test_no_unread_span_falls_below_a_watermark_after_compaction(tmp_path: Path) -> None:
    path = tmp_path / "big.duckdb"
    with Store(path) as store:
        with store.transaction() as cur:
            cur.execute(
                f"""
                INSERT INTO spans (project, trace_id, span_id, name, kind, status, start_time,
                                   end_time, duration_ms, ingested_at)
                SELECT CASE WHEN i % 3 = 0 AND i < {GONE} THEN 'gone' ELSE 'kept' END,
                       lpad(i::VARCHAR, 32, '0'), lpad(i::VARCHAR, 16, '0'), 'span', 'chain',
                       'ok', TIMESTAMP '2026-01-01', TIMESTAMP '2026-01-01', 0, now()
                FROM range({ROWS}) t(i)
                """
            )
            rebuild_traces(cur)
        store.query("CHECKPOINT")  # DuckDB compacts only row groups already on disk
        mark = ROWS // 2
        store.append_rows(
            "eval_watermarks",
            pa.Table.from_pylist(
                [
                    {
                        "watermark_key": "wm",
                        "kind": "evaluator",
                        "name": "e",
                        "last_rowid": mark,
                        "updated_at": dt.datetime(2026, 1, 1),
                    }
                ]
            ),
        )
        unread = {
            row[0]
            for row in store.query(
                "SELECT span_id FROM spans WHERE rowid > ? AND project = 'kept'",
                [mark],
                max_rows=ROWS,
            ).rows
        }
        report = delete_data(store, Selection(project="gone"))
        assert report.deleted["spans"] == GONE // 3
        store.query("CHECKPOINT")
    with Store(path) as reopened:
        lowered = reopened.query("SELECT last_rowid FROM eval_watermarks").rows[0][0]
        moved = reopened.query(
            "SELECT count(*) FROM spans WHERE rowid <> CAST(span_id AS BIGINT)"
        ).rows[0][0]
        ahead = {
            row[0]
            for row in reopened.query(
                "SELECT span_id FROM spans WHERE rowid > ?", [lowered], max_rows=ROWS
            ).rows
        }
        ahead_of_old_mark = reopened.query(
            "SELECT count(*) FROM spans WHERE rowid > ?", [mark]
        ).rows[0][0]
    assert unread <= ahead  # every unread span is still above the lowered watermark
    assert lowered <= mark
    if moved:  # DuckDB renumbered rows: the old watermark would have skipped spans
        assert ahead_of_old_mark < len(unread)
    else:  # rowids stayed: the spans above the old mark are exactly the unread ones
        assert ahead_of_old_mark == len(unread)
