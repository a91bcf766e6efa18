"""The DuckDB store: migrations, idempotent appends, group commit, locking, read helpers."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import wait
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from loopwise.collector.semconv import normalize_request
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import (
    MIGRATIONS,
    SPAN_ARROW_SCHEMA,
    GroupCommitWriter,
    QueryRejected,
    QueryTimeout,
    Store,
    StoreError,
    applied_migrations,
    check_single_select,
    migrate,
    span_tree,
)

HOLD_OPEN = """
import sys, time
from loopwise.collector.store import Store
store = Store(sys.argv[1])
print("open", flush=True)
time.sleep(120)
"""


def spans_table(
    otlp, trace_id: bytes, names: list[str], span_ids: list[bytes] | None = None
) -> pa.Table:
    """Normalized rows for spans named ``names`` in one trace."""
    ids = span_ids or [otlp.span_id() for _ in names]
    request = otlp.request(
        [
            otlp.span(name, trace_id=trace_id, span_id=sid)
            for name, sid in zip(names, ids, strict=True)
        ]
    )
    return normalize_request(request).table


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh read-write store in tmp_path."""
    with Store(tmp_path / "store.duckdb") as opened:
        yield opened


@pytest.fixture
def held_open(tmp_path: Path) -> Iterator[Path]:
    """A database file held open read-write by another process for the test's duration."""
    path = tmp_path / "locked.duckdb"
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "open"
        yield path
    finally:
        child.kill()
        child.wait(timeout=30)


def test_migrations_are_recorded_and_applied_once(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    Store(path).close()
    Store(path).close()

    with duckdb.connect(str(path)) as con:
        assert applied_migrations(con) == sorted(name for name, _ in MIGRATIONS)
        rows = con.execute(
            "SELECT name, count(*) FROM _migrations GROUP BY name ORDER BY name"
        ).fetchall()
        assert rows == sorted((name, 1) for name, _ in MIGRATIONS)
        assert migrate(con) == []
        columns = [r[0] for r in con.execute("DESCRIBE spans").fetchall()]
    assert columns == SPAN_ARROW_SCHEMA.names


def test_a_failing_migration_is_rolled_back_and_not_recorded(tmp_path: Path) -> None:
    def broken(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("migration failed halfway")

    with duckdb.connect(str(tmp_path / "m.duckdb")) as con:
        with pytest.raises(RuntimeError, match="halfway"):
            migrate(
                con,
                [
                    ("0001_ok", lambda c: c.execute("CREATE TABLE ok (x INTEGER)")),
                    ("0002_broken", broken),
                ],
            )
        assert applied_migrations(con) == ["0001_ok"]
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
    assert "ok" in tables
    assert "half_done" not in tables


def test_append_spans_is_idempotent(store: Store, otlp) -> None:
    trace_id = otlp.trace_id()
    ids = [otlp.span_id() for _ in range(3)]
    table = spans_table(otlp, trace_id, ["a", "b", "c"], ids)

    assert store.append_spans(table) == 3
    assert store.append_spans(table) == 0
    overlapping = spans_table(otlp, trace_id, ["c-again", "d"], [ids[2], otlp.span_id()])
    assert store.append_spans(overlapping) == 1

    names = [r["name"] for r in store.query("SELECT name FROM spans ORDER BY name").records()]
    assert names == ["a", "b", "c", "d"]


def test_append_skips_repeats_within_one_batch(store: Store, otlp) -> None:
    trace_id, span_id = otlp.trace_id(), otlp.span_id()
    table = spans_table(otlp, trace_id, ["first", "second"], [span_id, span_id])

    assert store.append_spans(table) == 1
    assert store.query("SELECT count(*) AS n FROM spans").records() == [{"n": 1}]


def test_append_of_an_empty_table_writes_nothing(store: Store) -> None:
    assert store.append_spans(SPAN_ARROW_SCHEMA.empty_table()) == 0
    assert store.query("SELECT count(*) FROM spans").rows == [(0,)]


def test_group_commit_writer_commits_every_batch(store: Store, otlp) -> None:
    writer = GroupCommitWriter(store, max_batch_rows=4)
    writer.start()
    trace_id = otlp.trace_id()
    try:
        futures = [writer.submit(spans_table(otlp, trace_id, [f"s{i}", f"t{i}"])) for i in range(6)]
        wait(futures, timeout=30)
        assert [f.exception() for f in futures] == [None] * 6
    finally:
        writer.close()
    assert writer.rows_written == 12
    assert writer.pending_rows == 0
    assert store.query("SELECT count(*) FROM spans").rows == [(12,)]


def test_store_file_survives_reopening_read_only(tmp_path: Path, otlp) -> None:
    path = tmp_path / "ro.duckdb"
    with Store(path) as store:
        store.append_spans(spans_table(otlp, otlp.trace_id(), ["kept"]))

    with Store(path, read_only=True) as reader:
        assert reader.query("SELECT name FROM spans").records() == [{"name": "kept"}]
        with pytest.raises(duckdb.Error):
            reader.query("DELETE FROM spans")


def test_read_only_store_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no database"):
        Store(tmp_path / "absent.duckdb", read_only=True)
    assert not (tmp_path / "absent.duckdb").exists()


def test_file_locked_by_another_process(held_open: Path) -> None:
    with pytest.raises(StoreError, match="open in another process") as locked:
        Store(held_open, read_only=True)
    assert str(held_open) in str(locked.value)
    assert "HTTP API" in str(locked.value)
    with pytest.raises(StoreError, match="open in another process"):
        Store(held_open)


def test_collector_refuses_a_locked_file_and_frees_its_port(
    held_open: Path, free_port: int
) -> None:
    with pytest.raises(StoreError, match="open in another process"):
        CollectorServer(CollectorConfig(db_path=held_open, port=free_port))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", free_port))


def test_select_checks_statements(store: Store) -> None:
    assert store.select("SELECT 41 + 1 AS answer").records() == [{"answer": 42}]
    assert check_single_select("FROM spans") == "FROM spans"
    for sql in ("SELECT 1; SELECT 2", "DELETE FROM spans", "SELEC 1"):
        with pytest.raises(QueryRejected):
            store.select(sql)


def test_select_truncates_at_max_rows(store: Store) -> None:
    result = store.select("SELECT * FROM range(7)", max_rows=5)
    assert len(result.rows) == 5
    assert result.truncated
    assert not store.select("SELECT * FROM range(5)", max_rows=5).truncated


def test_a_runaway_select_is_interrupted_and_the_store_stays_usable(store: Store) -> None:
    endless = "SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3"
    with pytest.raises(QueryTimeout, match="stopped"):
        store.select(endless, timeout_s=0.2)
    assert store.select("SELECT 1 AS one").records() == [{"one": 1}]


def test_span_tree_breaks_parent_cycles_instead_of_dropping_spans() -> None:
    spans = [
        {"span_id": "a", "parent_span_id": "c", "name": "a"},
        {"span_id": "b", "parent_span_id": "a", "name": "b"},
        {"span_id": "c", "parent_span_id": "b", "name": "c"},
        {"span_id": "d", "parent_span_id": "b", "name": "d"},
        {"span_id": "e", "parent_span_id": "f", "name": "e"},
        {"span_id": "f", "parent_span_id": "e", "name": "f"},
    ]

    def shape(node: dict[str, Any]) -> tuple[str, list[Any]]:
        return (node["name"], [shape(child) for child in node["children"]])

    assert [shape(root) for root in span_tree(spans)] == [
        ("a", [("b", [("c", []), ("d", [])])]),
        ("e", [("f", [])]),
    ]


def test_span_tree_keeps_orphans_and_self_parents_as_roots() -> None:
    spans = [
        {"span_id": "a", "parent_span_id": None, "name": "root"},
        {"span_id": "b", "parent_span_id": "a", "name": "child"},
        {"span_id": "c", "parent_span_id": "missing", "name": "orphan"},
        {"span_id": "d", "parent_span_id": "d", "name": "self"},
    ]
    tree = span_tree(spans)
    assert [(n["name"], [c["name"] for c in n["children"]]) for n in tree] == [
        ("root", ["child"]),
        ("orphan", []),
        ("self", []),
    ]


def test_stored_scores_get_their_direction_and_pass_values(tmp_path: Path) -> None:
    path = tmp_path / "scores.duckdb"
    with duckdb.connect(str(path)) as con:  # scores written before directions were recorded
        migrate(con, [m for m in MIGRATIONS if m[0] != "0004_scores_direction"])
        old = [
            # name, kind, version, value, passed
            ("error_status", "code", "1", 1.0, False),
            ("error_status", "code", "1", 0.0, True),
            ("refusal", "code", "1", 1.0, False),
            ("regex", "code", "1", 1.0, False),  # must_match=False: a match is a failure
            ("contains", "code", "1", 2.0, True),  # a count of found strings
            ("latency_threshold", "code", "1", 900.0, False),
            ("length_bounds", "code", "1", 40.0, False),
            ("helpfulness_judge", "llm", "1", 0.8, True),
            ("refusal", "code", "7", 1.0, False),  # someone else's evaluator, same name
        ]
        for number, (name, kind, version, value, passed) in enumerate(old):
            con.execute(
                "INSERT INTO scores (score_id, project, trace_id, name, value, passed, kind, "
                "source, evaluator_version, status, created_at) "
                "VALUES (?, 'p', 't', ?, ?, ?, ?, ?, ?, 'ok', now())",
                [f"s{number}", name, value, passed, kind, name, version],
            )
    with Store(path) as store:
        rows = store.query(
            "SELECT name, evaluator_version, value, passed, direction FROM scores ORDER BY score_id"
        ).rows
    assert [tuple(r) for r in rows] == [
        ("error_status", "1", 0.0, False, "higher"),
        ("error_status", "1", 1.0, True, "higher"),
        ("refusal", "1", 0.0, False, "higher"),
        ("regex", "1", 0.0, False, "higher"),
        ("contains", "1", 1.0, True, "higher"),
        ("latency_threshold", "1", 900.0, False, "lower"),
        ("length_bounds", "1", 40.0, False, "none"),
        ("helpfulness_judge", "1", 0.8, True, "higher"),
        ("refusal", "7", 1.0, False, "higher"),
    ]
