"""``loopwise lake maintain`` on a lake fed many small requests: fewer files, same spans."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from loopwise.collector.store.backend import LakeBackend
from loopwise.collector.store.lake_store import LakeStore

from .conftest import LakeCollector
from .test_lake_collectors import keys, official_sdk_batches, send_all, stored_keys

pytestmark = pytest.mark.postgres


def _files(lake: LakeBackend) -> int:
    with LakeStore(lake) as store:
        row = store.cursor().execute(
            "SELECT count(*) FROM ducklake_list_files('lake', 'spans_raw')"
        )
        found = row.fetchone()
    assert found is not None
    return int(found[0])


def test_maintain_merges_small_files_and_deletes_the_old_ones(
    lake: LakeBackend, start_collectors: Callable[[int], list[LakeCollector]]
) -> None:
    (collector,) = start_collectors(1)
    batches = official_sdk_batches(800)
    for batch in batches:  # one request, one commit, one small file each
        send_all(collector.url, [batch])
    before = _files(lake)
    parquet_before = len(list(lake.data_path.rglob("*.parquet")))
    assert before >= len(batches)

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "loopwise",
            "lake",
            "maintain",
            "--store",
            lake.spec,
            "--data-path",
            str(lake.data_path),
            "--keep-hours",
            "0",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"spans files {before} → " in result.stdout

    assert _files(lake) < before
    assert len(list(lake.data_path.rglob("*.parquet"))) < parquet_before
    seen = stored_keys(lake)
    assert len(seen) == 800 and set(seen) == keys(batches)


def test_maintain_refuses_a_file_store() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "loopwise", "lake", "maintain", "--store", "x.duckdb"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "is a DuckDB file, not a ducklake: store" in result.stdout + result.stderr
