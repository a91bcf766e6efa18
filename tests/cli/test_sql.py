"""``loopwise sql`` against a file and through a running collector, in every format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from loopwise.cli import app
from loopwise.collector.server import CollectorServer

from .conftest import free_port

runner = CliRunner()
QUERY = "select name, kind, status from spans order by name"


def test_json_from_file(seeded_db: Path) -> None:
    result = runner.invoke(app, ["sql", "--db", str(seeded_db), "--format", "json", QUERY])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows == [
        {"name": "classify", "kind": "llm", "status": "ok"},
        {"name": "lookup_order", "kind": "tool", "status": "error"},
        {"name": "render", "kind": "chain", "status": "ok"},
        {"name": "triage", "kind": "chain", "status": "ok"},
    ]


def test_csv_has_header_then_rows(seeded_db: Path) -> None:
    result = runner.invoke(
        app,
        [
            "sql",
            "--db",
            str(seeded_db),
            "-f",
            "csv",
            "select name, input_tokens from spans order by name",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = list(csv.reader(io.StringIO(result.stdout)))
    assert lines[0] == ["name", "input_tokens"]
    assert lines[1:] == [["classify", "12"], ["lookup_order", ""], ["render", ""], ["triage", ""]]


def test_table_prints_values_verbatim(seeded_db: Path) -> None:
    result = runner.invoke(
        app, ["sql", "--db", str(seeded_db), "select output from spans where name = 'render'"]
    )
    assert result.exit_code == 0, result.output
    # Stored text is untrusted: rich markup in it must print as written.
    assert "[bold red]not markup[/]" in result.stdout
    assert "1 row(s)" in result.stdout


def test_through_the_collector_api(collector: CollectorServer) -> None:
    result = runner.invoke(app, ["sql", "--endpoint", collector.url, "-f", "json", QUERY])
    assert result.exit_code == 0, result.output
    assert [row["name"] for row in json.loads(result.stdout)] == [
        "classify",
        "lookup_order",
        "render",
        "triage",
    ]


def test_rejects_anything_but_one_select(seeded_db: Path, collector: CollectorServer) -> None:
    for target in (["--db", str(seeded_db)], ["--endpoint", collector.url]):
        for query in (
            "delete from spans",
            "select 1; select 2",
            "select * from read_csv('/etc/passwd')",
        ):
            result = runner.invoke(app, ["sql", *target, query])
            assert result.exit_code == 1, (target, query, result.output)
            assert "error:" in result.stderr
            assert "Traceback" not in result.output
    rows = runner.invoke(
        app, ["sql", "--db", str(seeded_db), "-f", "json", "select count(*) n from spans"]
    )
    assert json.loads(rows.stdout) == [{"n": 4}]


def test_clear_errors(tmp_path: Path, seeded_db: Path) -> None:
    missing = runner.invoke(app, ["sql", "--db", str(tmp_path / "nope.duckdb"), "select 1"])
    assert missing.exit_code == 1
    assert "no database at" in missing.stderr

    unreachable = runner.invoke(
        app, ["sql", "--endpoint", f"http://127.0.0.1:{free_port()}", "select 1"]
    )
    assert unreachable.exit_code == 1
    assert "not reachable" in unreachable.stderr

    both = runner.invoke(app, ["sql", "--db", str(seeded_db), "--endpoint", "http://x", "select 1"])
    assert both.exit_code == 2

    unknown_column = runner.invoke(app, ["sql", "--db", str(seeded_db), "select nope from spans"])
    assert unknown_column.exit_code == 1
    assert "nope" in unknown_column.stderr


def test_file_locked_by_a_running_collector(collector: CollectorServer) -> None:
    result = runner.invoke(app, ["sql", "--db", str(collector.config.db_path), "select 1"])
    assert result.exit_code == 1
    assert "HTTP API" in result.stderr
