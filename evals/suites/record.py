"""Where suite runs are kept and found again: the collector (HTTP API), the database file,
or a local results folder when neither is configured."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import pyarrow as pa

from loopwise.collector.api_errors import NotFound
from loopwise.collector.client import CollectorClient, RouteMissing
from loopwise.collector.store import Store
from loopwise.collector.times import parse_utc

from .results import RunReport

DEFAULT_RESULTS_DIR = Path(".loopwise") / "runs"
RUNS_PATH = "/api/eval-runs"


class RunStore(Protocol):
    """Saves run reports and finds earlier ones."""

    where: str

    def save(self, report: RunReport) -> None:
        """Keep this run."""
        ...

    def get(self, run_id: str) -> dict[str, Any] | None:
        """An earlier run's report by id."""
        ...

    def last(self, suite: str, *, before_run: str | None = None) -> dict[str, Any] | None:
        """The newest run of ``suite`` other than ``before_run``."""
        ...


class FolderRunStore:
    """JSON reports under ``results_dir/<suite>/<run_id>.json``."""

    def __init__(self, results_dir: Path = DEFAULT_RESULTS_DIR) -> None:
        self.results_dir = results_dir
        self.where = str(results_dir)

    def save(self, report: RunReport) -> None:
        """Write the report as JSON."""
        folder = self.results_dir / _safe(report.suite)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{report.run_id}.json").write_text(json.dumps(report.to_dict(), default=str))

    def get(self, run_id: str) -> dict[str, Any] | None:
        """Find a report by id in any suite folder."""
        for path in self.results_dir.glob(f"*/{run_id}.json"):
            return dict(json.loads(path.read_text()))
        return None

    def last(self, suite: str, *, before_run: str | None = None) -> dict[str, Any] | None:
        """The newest report of ``suite`` by its start time."""
        reports = []
        for path in (self.results_dir / _safe(suite)).glob("*.json"):
            data = json.loads(path.read_text())
            if data.get("run_id") != before_run:
                reports.append(data)
        return max(reports, key=lambda r: r.get("started_at", ""), default=None)


class DatabaseRunStore:
    """The ``eval_runs`` table of a DuckDB file (when no collector owns it)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.where = str(db_path)

    def save(self, report: RunReport) -> None:
        """Append the run."""
        row = run_row(report)
        with Store(self.db_path) as store:
            store.append_rows("eval_runs", pa.Table.from_pylist([row]))

    def get(self, run_id: str) -> dict[str, Any] | None:
        """A run by id."""
        return self._one("SELECT report FROM eval_runs WHERE run_id = ?", [run_id])

    def last(self, suite: str, *, before_run: str | None = None) -> dict[str, Any] | None:
        """The newest run of the suite."""
        return self._one(
            "SELECT report FROM eval_runs WHERE suite = ? AND run_id <> ? "
            "ORDER BY started_at DESC LIMIT 1",
            [suite, before_run or ""],
        )

    def _one(self, sql: str, params: list[Any]) -> dict[str, Any] | None:
        if not self.db_path.exists():
            return None
        with Store(self.db_path) as store:
            rows = store.query(sql, params).rows
        return dict(json.loads(rows[0][0])) if rows else None


class CollectorRunStore:
    """The collector's ``/api/eval-runs`` endpoints, through the one collector client (a
    refusal raises the API's error of its status, ``CollectorUnreachable`` when nothing
    answers)."""

    def __init__(self, endpoint: str, api_key: str | None = None) -> None:
        self.where = endpoint
        self._api_key = api_key

    def save(self, report: RunReport) -> None:
        """POST the report."""
        with self._client(timeout_s=60.0) as client:
            client.call("POST", RUNS_PATH, json=report.to_dict())

    def get(self, run_id: str) -> dict[str, Any] | None:
        """GET one run's report (None when the collector has no such run)."""
        with self._client() as client:
            return self._report(client, run_id)

    def last(self, suite: str, *, before_run: str | None = None) -> dict[str, Any] | None:
        """The newest run of the suite, through the list endpoint."""
        with self._client() as client:
            listed = client.call("GET", RUNS_PATH, params={"suite": suite, "limit": 2})
            for run in listed["runs"]:
                if run["run_id"] != before_run:
                    return self._report(client, run["run_id"])
        return None

    def _client(self, timeout_s: float = 30.0) -> CollectorClient:
        return CollectorClient(self.where, self._api_key, timeout_s=timeout_s)

    @staticmethod
    def _report(client: CollectorClient, run_id: str) -> dict[str, Any] | None:
        try:
            return dict(client.call("GET", f"{RUNS_PATH}/{quote(run_id, safe='')}"))
        except RouteMissing:
            raise
        except NotFound:
            return None


def run_row(report: RunReport | dict[str, Any]) -> dict[str, Any]:
    """The ``eval_runs`` row for a report (a RunReport or its JSON form)."""
    data = report.to_dict() if isinstance(report, RunReport) else report
    return {
        "run_id": str(data["run_id"]),
        "suite": str(data["suite"]),
        "dataset": str(data["dataset"]),
        "passed": bool(data["passed"]),
        "started_at": _parse_time(str(data["started_at"])),
        "finished_at": _parse_time(str(data["finished_at"])),
        "git_commit": (data.get("context") or {}).get("git_commit"),
        "report": json.dumps(data, default=str),
    }


def utc_now_iso() -> str:
    """Now, as the ISO-8601 UTC text reports carry (microseconds, trailing Z)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: str) -> dt.datetime:
    return parse_utc(text)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "suite"
