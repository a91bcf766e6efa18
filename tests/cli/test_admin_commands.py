"""``loopwise delete``, ``loopwise export`` and ``loopwise import`` on files and through a
running collector."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from loopwise.cli import app
from loopwise.collector.server import CollectorServer
from loopwise.collector.store import Store

runner = CliRunner()


def span_count(db: Path) -> int:
    with Store(db, read_only=True) as store:
        return int(store.query("SELECT count(*) FROM spans").rows[0][0])


def test_delete_a_project_from_a_file(seeded_db: Path) -> None:
    dry = runner.invoke(
        app, ["delete", "--project", "cli-test", "--dry-run", "--db", str(seeded_db), "-f", "json"]
    )
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["deleted"]["spans"] == 4
    assert span_count(seeded_db) == 4
    real = runner.invoke(app, ["delete", "--project", "cli-test", "--db", str(seeded_db)])
    assert real.exit_code == 0, real.output
    assert "deleted 7 row(s)" in real.stdout  # 4 spans and 3 traces
    assert span_count(seeded_db) == 0


def test_delete_needs_a_condition_and_a_good_age(seeded_db: Path) -> None:
    for args, message in (
        ([], "say what to delete"),
        (["--older-than", "soon"], "an age looks like"),
        (["--user", ""], "user_id must be a non-empty string"),
    ):
        result = runner.invoke(app, ["delete", *args, "--db", str(seeded_db)])
        assert result.exit_code == 2, result.output
        assert message in result.output
    both = runner.invoke(
        app, ["delete", "--project", "x", "--db", str(seeded_db), "--endpoint", "http://x"]
    )
    assert both.exit_code == 2 and "not both" in both.output
    missing = runner.invoke(app, ["delete", "--project", "x", "--db", str(seeded_db) + ".nope"])
    assert missing.exit_code == 1 and "no database" in missing.output
    assert span_count(seeded_db) == 4


def test_delete_through_the_collector(collector: CollectorServer) -> None:
    result = runner.invoke(
        app, ["delete", "--older-than", "1m", "--endpoint", collector.url, "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["deleted"]["spans"] == 0  # everything is seconds old
    result = runner.invoke(app, ["delete", "--user", "nobody", "--endpoint", collector.url])
    assert result.exit_code == 0 and "deleted 0 row(s)" in result.stdout
    # The file is the collector's: another process working on it directly is refused cleanly.
    command = ["delete", "--project", "x", "--db", str(collector.config.db_path)]
    locked = subprocess.run(
        [sys.executable, "-m", "loopwise", *command],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert locked.returncode == 1, locked.stderr
    assert "HTTP API" in locked.stderr and "Traceback" not in locked.stderr


def test_export_and_import_a_file(seeded_db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "dump"
    exported = runner.invoke(app, ["export", str(folder), "--db", str(seeded_db)])
    assert exported.exit_code == 0, exported.output
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["tables"]["spans"]["rows"] == 4
    again = runner.invoke(app, ["export", str(folder), "--db", str(seeded_db)])
    assert again.exit_code == 1 and "already holds an export" in again.output

    fresh = tmp_path / "fresh.duckdb"
    imported = runner.invoke(app, ["import", str(folder), "--db", str(fresh)])
    assert imported.exit_code == 0, imported.output
    assert "7 row(s) added" in imported.stdout  # 4 spans and 3 traces
    repeat = runner.invoke(app, ["import", str(folder), "--db", str(fresh)])
    assert repeat.exit_code == 0 and "0 row(s) added" in repeat.stdout
    assert span_count(fresh) == 4


def test_import_refuses_a_newer_schema(seeded_db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "dump"
    assert runner.invoke(app, ["export", str(folder), "--db", str(seeded_db)]).exit_code == 0
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["migrations"].append("0999_newer")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    result = runner.invoke(app, ["import", str(folder), "--db", str(tmp_path / "t.duckdb")])
    assert result.exit_code == 1 and "newer schema" in result.output
    not_an_export = runner.invoke(
        app, ["import", str(tmp_path), "--db", str(tmp_path / "t.duckdb")]
    )
    assert not_an_export.exit_code == 1 and "not a loopwise export" in not_an_export.output


def test_export_through_the_collector(collector: CollectorServer, tmp_path: Path) -> None:
    folder = tmp_path / "dump"
    result = runner.invoke(app, ["export", str(folder), "--endpoint", collector.url])
    assert result.exit_code == 0, result.output
    fresh = tmp_path / "fresh.duckdb"
    assert runner.invoke(app, ["import", str(folder), "--db", str(fresh)]).exit_code == 0
    assert span_count(fresh) == 4
