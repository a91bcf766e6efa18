"""``retention_days``: the collector deletes traces older than the limit at start and then
periodically, and keeps serving; recent traces are kept."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from loopwise.collector.server import CollectorConfig

NOW_NS = time.time_ns()


@pytest.fixture(scope="module")
def collector_config(tmp_path_factory: pytest.TempPathFactory) -> CollectorConfig:
    path: Path = tmp_path_factory.mktemp("retention") / "t.duckdb"
    return CollectorConfig(db_path=path, port=0, retention_days=30, retention_interval_s=0.05)


def retention(api: Any) -> dict[str, Any]:
    status: dict[str, Any] = api.http.get("/health").json()["retention"]
    return status


def wait_for_passes(api: Any, passes: int) -> None:
    """Wait until retention has run ``passes`` more times than now."""
    target = retention(api)["runs"] + passes
    deadline = time.monotonic() + 30
    while retention(api)["runs"] < target:
        assert time.monotonic() < deadline, "retention did not run"
        time.sleep(0.02)


def test_old_traces_go_and_recent_ones_stay(api: Any, otlp: Any, unique_project: str) -> None:
    old_trace, new_trace = otlp.trace_id(), otlp.trace_id()
    old = otlp.span("old", trace_id=old_trace)  # 2026-01-01, the fixtures' epoch
    recent = otlp.span("recent", trace_id=new_trace, start_ns=NOW_NS)
    api.export_ok(otlp.request([old, recent], project=unique_project))
    wait_for_passes(api, 2)
    assert api.count_trace(old_trace) == 0
    assert api.count_trace(new_trace) == 1
    status = retention(api)
    assert status["retention_days"] == 30 and status["last_error"] is None
    assert status["deleted_rows"] >= 2  # the span and its trace row
    assert api.healthy()


def test_bad_settings_are_refused() -> None:
    for days in (0, -1.5):
        with pytest.raises(ValueError, match="retention_days must be a positive number"):
            CollectorConfig(retention_days=days).check()
    with pytest.raises(ValueError, match="retention_interval_s"):
        CollectorConfig(retention_days=1, retention_interval_s=0).check()


def test_retention_days_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOPWISE_RETENTION_DAYS", "14")
    assert CollectorConfig.from_env().retention_days == 14
    monkeypatch.setenv("LOOPWISE_RETENTION_DAYS", "two weeks")
    with pytest.raises(ValueError, match="LOOPWISE_RETENTION_DAYS must be a number of days"):
        CollectorConfig.from_env()
