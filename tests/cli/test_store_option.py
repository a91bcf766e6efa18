"""``--store`` / ``--data-path``: a file path works wherever --db does, a lake setting is
checked before anything opens, and commands that cannot run on a lake say so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loopwise.cli import app
from loopwise.collector.store.backend import (
    BackendError,
    FileBackend,
    LakeBackend,
    extension_directory,
    parse_store,
)

runner = CliRunner()
COUNT = "select count(*) n from spans"


def test_parse_store_tells_a_file_from_a_lake(tmp_path: Path) -> None:
    assert parse_store("x/loopwise.duckdb") == FileBackend(Path("x/loopwise.duckdb"))
    lake = parse_store("ducklake:postgres:dbname=lw host=127.0.0.1", tmp_path)
    assert lake == LakeBackend(conninfo="dbname=lw host=127.0.0.1", data_path=tmp_path)
    assert isinstance(lake, LakeBackend)
    assert lake.spec == "ducklake:postgres:dbname=lw host=127.0.0.1"


@pytest.mark.parametrize(
    ("store", "data_path", "message"),
    [
        ("", None, "empty"),
        ("ducklake:sqlite:x.db", "d", "only ducklake:postgres"),
        ("ducklake:postgres:", "d", "needs a libpq conninfo"),
        ("ducklake:postgres:dbname=lw", None, "needs --data-path"),
        ("file.duckdb", "d", "applies only to a ducklake"),
    ],
)
def test_bad_store_settings_fail_clearly(store: str, data_path: str | None, message: str) -> None:
    with pytest.raises(BackendError, match=message):
        parse_store(store, data_path)


def test_the_lake_extensions_are_those_of_the_pinned_duckdb() -> None:
    import duckdb

    found = extension_directory() / f"v{duckdb.__version__}"
    assert any((p / "ducklake.duckdb_extension").exists() for p in found.iterdir())


def test_store_names_a_file_as_db_does(seeded_db: Path) -> None:
    by_store = runner.invoke(app, ["sql", "-f", "json", "--store", str(seeded_db), COUNT])
    assert by_store.exit_code == 0, by_store.output
    from_env = runner.invoke(
        app, ["sql", "-f", "json", COUNT], env={"LOOPWISE_STORE": str(seeded_db)}
    )
    assert from_env.exit_code == 0, from_env.output
    assert json.loads(by_store.stdout) == json.loads(from_env.stdout) == [{"n": 4}]


def test_store_and_db_together_or_a_stray_data_path_are_refused(seeded_db: Path) -> None:
    both = runner.invoke(app, ["sql", "--store", str(seeded_db), "--db", str(seeded_db), COUNT])
    assert both.exit_code == 2
    assert "--store or --db, not both" in both.output
    stray = runner.invoke(app, ["sql", "--db", str(seeded_db), "--data-path", "d", COUNT])
    assert stray.exit_code == 2
    assert "--data-path applies only with --store ducklake" in stray.output


def test_a_command_without_lake_support_refuses_a_lake(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["review", "list", "--store", "ducklake:postgres:dbname=x", "--data-path", str(tmp_path)],
    )
    assert result.exit_code == 2
    assert "does not work on a ducklake store yet" in result.output


def test_collect_refuses_a_lake_without_data_path() -> None:
    result = runner.invoke(app, ["collect", "--store", "ducklake:postgres:dbname=x"])
    assert result.exit_code == 2
    assert "needs --data-path" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "copy.duckdb"], "is a DuckDB file, not a ducklake: store"),
        (["--to", "ducklake:postgres:dbname=lw"], "needs --data-path"),
        (["--to", "ducklake:mysql:x", "--data-path", "d"], "only ducklake:postgres"),
    ],
)
def test_migrate_checks_its_target_before_reading_anything(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["migrate", "--db", str(tmp_path / "absent.duckdb"), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "absent.duckdb").exists()


def test_worker_runs_on_a_lake_only(tmp_path: Path) -> None:
    result = runner.invoke(app, ["worker", "--store", str(tmp_path / "file.duckdb")])
    assert result.exit_code == 2
    assert "a file store is scored inside `loopwise collect`" in result.output
    assert not (tmp_path / "file.duckdb").exists()
