"""Fixtures for the evaluator tests: span rows and Arrow batches built by hand, demo traces,
and real collectors hosting the evals extension.

Test modules cannot import this file (pytest runs with --import-mode=importlib), so the
helpers are reached through fixtures: ``spans`` builds batches, ``evals_collector`` starts
collectors, ``wait_scored`` waits until the online worker has caught up.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest

import loopwise
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import SPAN_ARROW_SCHEMA
from loopwise.evals import EvalsConfig, EvalsExtension, default_config

_ids = itertools.count(1)
EPOCH = dt.datetime(2026, 1, 1)


class SpanFactory:
    """Builds span rows (dicts in the spans schema) and Arrow batches of them."""

    def trace_id(self) -> str:
        """A fresh 32-hex trace id."""
        return f"{next(_ids):032x}"

    def span_id(self) -> str:
        """A fresh 16-hex span id."""
        return f"{next(_ids):016x}"

    def row(self, **fields: Any) -> dict[str, Any]:
        """One span row; unspecified fields get plausible defaults."""
        start = fields.pop("start_time", EPOCH)
        duration = float(fields.pop("duration_ms", 50.0))
        row: dict[str, Any] = {
            "project": "evals-test",
            "trace_id": self.trace_id(),
            "span_id": self.span_id(),
            "parent_span_id": None,
            "name": "answer",
            "kind": "llm",
            "status": "ok",
            "status_message": None,
            "start_time": start,
            "end_time": start + dt.timedelta(milliseconds=duration),
            "duration_ms": duration,
            "service_name": "tests",
            "model": "m",
            "provider": "p",
            "input": "question",
            "output": "answer",
            "input_tokens": 10,
            "output_tokens": 5,
            "total_tokens": 15,
            "cost_usd": 0.0001,
            "session_id": None,
            "user_id": None,
            "tags": [],
            "metadata": "{}",
            "attributes": "{}",
            "resource": "{}",
            "events": "[]",
            "ingested_at": start,
        }
        unknown = set(fields) - set(row)
        assert not unknown, f"unknown span fields {unknown}"
        row.update(fields)
        return row

    def table(self, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
        """An Arrow batch in the spans schema."""
        return pa.Table.from_pylist([dict(r) for r in rows], schema=SPAN_ARROW_SCHEMA)

    def outputs(self, *outputs: str | None, **fields: Any) -> pa.Table:
        """A batch of llm spans with these outputs (and the same other fields)."""
        return self.table([self.row(output=o, **fields) for o in outputs])


@pytest.fixture(scope="session")
def spans() -> SpanFactory:
    """Builds span rows and batches."""
    return SpanFactory()


@pytest.fixture(scope="session")
def demo_rows() -> list[dict[str, Any]]:
    """60 demo traces (seed 7, no sleeping), as the collector would store them."""
    from loopwise.demo import run_traffic

    exporter = loopwise.TestingExporter()
    client = loopwise.Client()
    client.init("support-bot", exporter=exporter, batch=False, set_global=False)
    run_traffic(client, count=60, time_scale=0, interval_s=0)
    client.shutdown()
    return exporter.rows("support-bot")


def fast(config: EvalsConfig) -> EvalsConfig:
    """The config with a short idle wait, so tests see results quickly."""
    return dataclasses.replace(config, poll_interval_s=0.05, cluster_interval_s=3600)


@pytest.fixture
def evals_collector(
    tmp_path: Path,
) -> Iterator[Callable[..., CollectorServer]]:
    """Starts collectors with the evals extension (default set unless ``config`` is given);
    every one is stopped at the end of the test."""
    started: list[CollectorServer] = []

    def start(
        config: EvalsConfig | None = None, db_name: str = "evals.duckdb", **options: Any
    ) -> CollectorServer:
        extension = EvalsExtension(fast(config or default_config()), **options)
        server = CollectorServer(
            CollectorConfig(db_path=tmp_path / db_name, port=0), extensions=[extension]
        ).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def sdk_client(tmp_path: Path) -> Iterator[Callable[[str, str], loopwise.Client]]:
    """SDK clients sending to a collector URL, flushed and shut down after the test."""
    made: list[loopwise.Client] = []

    def make(url: str, project: str) -> loopwise.Client:
        client = loopwise.Client()
        client.init(
            project, endpoint=url, batch=True, set_global=False, spool_dir=tmp_path / "spool"
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.shutdown()


@pytest.fixture
def wait_scored() -> Callable[..., dict[str, Any]]:
    """Waits until the collector's online worker has no backlog; returns its status."""

    def wait(url: str, *, spans: int | None = None, timeout_s: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = httpx.get(url + "/api/evals/status", timeout=10).json()
            enough = spans is None or status["spans_stored"] >= spans
            if enough and status["backlog"] == 0 and status["cycles"] > 0:
                return status
            time.sleep(0.05)
        raise AssertionError(f"the online worker did not catch up: {status}")

    return wait
