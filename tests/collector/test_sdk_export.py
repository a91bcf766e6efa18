"""SDK export paths: batched OTLP to a running collector, spooling while it is away and
delivering later, and local mode straight into a DuckDB file."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import loopwise
from loopwise.collector.sdk import SpoolingExporter
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import Store


@pytest.fixture
def clients() -> Iterator[Callable[[], loopwise.Client]]:
    """Makes SDK clients and shuts every one down after the test."""
    made: list[loopwise.Client] = []

    def make() -> loopwise.Client:
        made.append(loopwise.Client())
        return made[-1]

    yield make
    for client in made:
        client.shutdown()


def wait_until(condition: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout_s`` passes (a guard, not a measurement)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def traced_workload(client: loopwise.Client) -> Callable[[int], int]:
    """A small decorated workload: ``run(n)`` makes one parent span with ``n`` children."""

    @client.observe(name="child", kind="tool")
    def child(i: int) -> int:
        return i * i

    @client.observe(name="run", kind="agent")
    def run(n: int) -> int:
        return sum(child(i) for i in range(n))

    return run


def test_batched_export_reaches_the_collector(
    clients, collector_server: CollectorServer, api, unique_project: str, tmp_path: Path
) -> None:
    client = clients()
    client.init(
        unique_project,
        endpoint=collector_server.url,
        spool_dir=tmp_path / "spool",
        set_global=False,
    )
    run = traced_workload(client)

    assert run(3) == 5
    assert client.flush()

    rows = api.sql(
        "SELECT name, kind, span_id, parent_span_id, input, output, service_name FROM spans "
        f"WHERE project = '{unique_project}' ORDER BY start_time"
    )
    assert [r["name"] for r in rows] == ["run", "child", "child", "child"]
    parent = rows[0]
    assert (parent["kind"], parent["input"], parent["output"]) == ("agent", "3", "5")
    assert {r["parent_span_id"] for r in rows[1:]} == {parent["span_id"]}
    assert [r["output"] for r in rows[1:]] == ["0", "1", "4"]
    assert {r["service_name"] for r in rows} == {unique_project}
    assert isinstance(client.exporter, SpoolingExporter)
    assert client.exporter.spooled_files() == []


def test_collector_away_spools_without_blocking_then_delivers(
    clients, monkeypatch: pytest.MonkeyPatch, free_port: int, tmp_path: Path
) -> None:
    connecting_threads: list[str] = []
    original_connect = socket.socket.connect

    def recording_connect(self: socket.socket, address: Any) -> Any:
        connecting_threads.append(threading.current_thread().name)
        return original_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    app_thread = threading.current_thread().name
    spool = tmp_path / "spool"
    client = clients()
    client.init("away", endpoint=f"http://127.0.0.1:{free_port}", spool_dir=spool, set_global=False)
    exporter = client.exporter
    assert isinstance(exporter, SpoolingExporter)
    run = traced_workload(client)

    # The application calls return normally and never touch the network themselves.
    assert [run(2) for _ in range(3)] == [1, 1, 1]
    assert app_thread not in connecting_threads

    # A background thread tries the collector, finds it away, and spools the spans.
    assert wait_until(lambda: bool(exporter.spooled_files()))
    assert connecting_threads, "the exporter never tried to reach the collector"
    assert app_thread not in connecting_threads
    monkeypatch.undo()

    assert client.flush()
    spooled = exporter.spooled_files()
    assert spooled and all(path.parent == spool for path in spooled)

    db_path = tmp_path / "later.duckdb"
    with CollectorServer(CollectorConfig(db_path=db_path, port=free_port)):
        exporter.deliver_spool()
        assert exporter.spooled_files() == []
    with Store(db_path, read_only=True) as store:
        rows = store.query("SELECT name, count(*) AS n FROM spans GROUP BY name ORDER BY name")
    assert rows.records() == [{"name": "child", "n": 6}, {"name": "run", "n": 3}]


def test_local_mode_writes_the_file_directly(clients, tmp_path: Path) -> None:
    db_path = tmp_path / "local.duckdb"
    client = clients()
    client.init("local-project", db=db_path, batch=False, set_global=False)
    run = traced_workload(client)

    assert run(2) == 1
    with client.span("manual", kind="llm") as span:
        span.set_usage(input_tokens=4, output_tokens=1, model="m")

    with Store(db_path, read_only=True) as store:
        rows = store.query(
            "SELECT project, name, kind, span_id, parent_span_id, total_tokens FROM spans "
            "ORDER BY start_time"
        ).records()
    assert [r["name"] for r in rows] == ["run", "child", "child", "manual"]
    assert {r["project"] for r in rows} == {"local-project"}
    assert {r["parent_span_id"] for r in rows[1:3]} == {rows[0]["span_id"]}
    assert rows[3]["parent_span_id"] is None
    assert (rows[3]["kind"], rows[3]["total_tokens"]) == ("llm", 5)


def test_local_mode_reinit_appends_to_the_same_file(clients, tmp_path: Path) -> None:
    db_path = tmp_path / "local.duckdb"
    client = clients()
    for project in ("first", "second"):
        client.init(project, db=db_path, batch=False, set_global=False)
        traced_workload(client)(1)
    with Store(db_path, read_only=True) as store:
        counts = store.query(
            "SELECT project, count(*) AS n FROM spans GROUP BY project ORDER BY project"
        )
    assert counts.records() == [{"project": "first", "n": 2}, {"project": "second", "n": 2}]
