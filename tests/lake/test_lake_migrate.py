"""``loopwise migrate --to ducklake:...``: every table of a file store, copied losslessly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from loopwise.collector.store import Store
from loopwise.collector.store.backend import LakeBackend, connect_lake
from loopwise.collector.store.lake_migrate import MigrationError, migrate_to_lake

from ..feedback.governance_data import all_rows, seed_governance

pytestmark = pytest.mark.postgres


def lake_rows(lake: LakeBackend, tables: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of each table as the lake serves it (spans through its view), sorted."""
    con = connect_lake(lake)
    try:
        return {
            table: sorted(con.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
            for table in tables
        }
    finally:
        con.close()


def migrate(source: Path, lake: LakeBackend) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it."""
    command = ["migrate", "--db", str(source), "--to", lake.spec]
    return subprocess.run(
        [sys.executable, "-m", "loopwise", *command, "--data-path", str(lake.data_path)],
        capture_output=True,
        text=True,
    )


def test_every_table_arrives_row_for_row(tmp_path: Path, lake: LakeBackend) -> None:
    source = tmp_path / "file.duckdb"
    seed_governance(source)
    with Store(source) as store:
        expected = all_rows(store)
    assert all(expected[t] for t in ("spans", "traces", "scores", "flags", "review_items"))

    result = migrate(source, lake)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "identical" in result.stdout
    assert lake_rows(lake, list(expected)) == expected
    with Store(source) as store:  # the file is left as it was
        assert all_rows(store) == expected


def test_a_second_migration_into_the_same_lake_is_refused(
    tmp_path: Path, lake: LakeBackend
) -> None:
    source = tmp_path / "file.duckdb"
    seed_governance(source)
    assert migrate(source, lake).returncode == 0
    with Store(source) as store:
        expected = all_rows(store)

    again = migrate(source, lake)
    assert again.returncode == 1
    assert "migrate copies into an empty lake" in again.stdout + again.stderr
    assert lake_rows(lake, list(expected)) == expected  # nothing doubled


def test_a_missing_file_is_refused_before_the_lake_is_touched(
    tmp_path: Path, lake: LakeBackend
) -> None:
    with pytest.raises(MigrationError, match="no DuckDB file at"):
        migrate_to_lake(tmp_path / "absent.duckdb", lake)
    assert not lake.data_path.exists()
