"""User SQL cannot write, read settings or the file path, or exhaust the collector's memory.

Each case is an attack that once worked against ``POST /api/sql``: DuckDB labels a CTE holding
DML a SELECT, so the statement-type check let ``WITH d AS (DELETE ...) SELECT`` delete every span.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from loopwise.collector.store import QueryRejected, QueryTooLarge, Store
from loopwise.collector.store.user_sql import read_only_cursor

WRITES_HIDDEN_IN_READS = [
    "WITH d AS (DELETE FROM spans RETURNING 1) SELECT count(*) FROM d",
    "WITH d AS (DELETE FROM traces RETURNING 1) SELECT count(*) FROM d",
    "WITH d AS (UPDATE spans SET name = 'x' RETURNING 1) SELECT count(*) FROM d",
    "WITH d AS (INSERT INTO spans SELECT * FROM spans RETURNING 1) SELECT count(*) FROM d",
    "SELECT * FROM (WITH d AS (DELETE FROM scores RETURNING 1) SELECT * FROM d)",
    "SELECT (SELECT count(*) FROM (WITH d AS (DELETE FROM spans RETURNING 1) SELECT * FROM d))",
    "SELECT 1 WHERE EXISTS (WITH d AS (DELETE FROM spans RETURNING 1) SELECT * FROM d)",
]

LEAKS_AND_SIDE_EFFECTS = [
    ("SELECT * FROM duckdb_databases()", "duckdb_databases() is not allowed"),
    ("SELECT * FROM pragma_database_list", "pragma_database_list is not allowed"),
    ("SELECT path FROM system.main.duckdb_databases", "duckdb_databases is not allowed"),
    ("SELECT * FROM pg_catalog.pg_settings", "pg_settings is not allowed"),
    ("SELECT * FROM checkpoint()", "checkpoint() is not allowed"),
    ("SELECT * FROM force_checkpoint()", "force_checkpoint() is not allowed"),
    ("SELECT current_setting('memory_limit')", "current_setting() is not allowed"),
    ("SELECT * FROM duckdb_settings()", "duckdb_settings() is not allowed"),
    ("SELECT * FROM query('SELECT 1')", "query() is not allowed"),
    ("SELECT * FROM query_table('spans')", "query_table() is not allowed"),
    ("SELECT * FROM enable_logging()", "enable_logging() is not allowed"),
    ("SELECT * FROM read_text('/etc/hostname')", "read_text() is not allowed"),
]


@pytest.fixture(scope="module")
def stored(api, otlp) -> int:
    """A few spans, so a write would be visible as a changed count."""
    trace_id = otlp.trace_id()
    api.export_ok(otlp.request([otlp.span(f"s{i}", trace_id=trace_id) for i in range(4)]))
    return api.count()


@pytest.mark.parametrize("sql", WRITES_HIDDEN_IN_READS)
def test_writes_inside_a_select_are_refused_and_change_nothing(api, stored: int, sql: str) -> None:
    traces_before = api.sql("SELECT count(*) AS n, sum(span_count) AS s FROM traces")

    response = api.http.post("/api/sql", json={"sql": sql})

    assert response.status_code == 400
    assert "only reads are allowed" in response.json()["error"]
    assert api.count() == stored
    assert api.sql("SELECT count(*) AS n, sum(span_count) AS s FROM traces") == traces_before


@pytest.mark.parametrize(("sql", "expected"), LEAKS_AND_SIDE_EFFECTS)
def test_settings_paths_and_side_effects_are_refused(api, sql: str, expected: str) -> None:
    response = api.http.post("/api/sql", json={"sql": sql})

    assert response.status_code == 400
    assert expected in response.json()["error"]


def test_catalog_views_and_ordinary_reads_still_work(api, stored: int) -> None:
    response = api.http.post(
        "/api/sql",
        json={
            "sql": "WITH c AS (SELECT table_name FROM information_schema.tables) "
            "SELECT count(*) FILTER (WHERE table_name = 'spans') AS n FROM c "
            "UNION ALL SELECT count(*) FROM duckdb_columns() WHERE table_name = 'spans' "
            "AND column_name = 'trace_id'"
        },
    )
    assert response.status_code == 200
    assert response.json()["rows"] == [[1], [1]]


def test_a_query_that_grows_past_its_memory_budget_is_stopped(api, stored: int) -> None:
    # Once took the collector to 12.7 GB before the 30 s timeout.
    response = api.http.post(
        "/api/sql",
        json={"sql": "SELECT max(length(s)) FROM (SELECT list(i) s FROM range(3000000000) t(i))"},
    )

    assert response.status_code == 400
    assert "memory" in response.json()["error"]
    assert api.healthy()
    assert api.count() == stored


def test_the_read_only_transaction_refuses_writes_the_parser_check_never_saw(
    tmp_path: Path,
) -> None:
    """The physical guard on its own: DML run straight on the user-SQL cursor is refused."""
    with Store(tmp_path / "guard.duckdb") as store:
        store.query("INSERT INTO _migrations VALUES ('probe', now())")
        con = store._con  # the writer's database, as the collector holds it
        for sql in [
            "DELETE FROM _migrations",
            "WITH d AS (DELETE FROM _migrations RETURNING 1) SELECT count(*) FROM d",
            "CREATE TABLE evil (i INTEGER)",
        ]:
            # DuckDB 1.4's parser refuses a write in a WITH clause before the transaction sees it
            with (
                pytest.raises(duckdb.Error, match=r"read-only|A CTE needs a SELECT"),
                read_only_cursor(con, timeout_s=5) as cur,
            ):
                cur.execute(sql)
        assert store.query("SELECT count(*) FROM _migrations WHERE name = 'probe'").rows == [(1,)]


def test_local_store_select_applies_the_same_guards(tmp_path: Path) -> None:
    path = tmp_path / "local.duckdb"
    Store(path).close()
    with Store(path, read_only=True) as store:
        with pytest.raises(QueryRejected, match="only reads"):
            store.select("WITH d AS (DELETE FROM spans RETURNING 1) SELECT * FROM d")
        with pytest.raises(QueryTooLarge):
            store.select(
                "SELECT max(length(s)) FROM (SELECT list(i) s FROM range(3000000000) t(i))",
                memory_bytes=256 * 1024 * 1024,
            )
        assert store.select("SELECT count(*) FROM spans").rows == [(0,)]
