"""The read API on a lake collector: the file collector's answers, from the lake.

The same spans, sent with the official exporter, go to a file collector and to a lake
collector (its own process, an API key required); every trace, session, user and Overview
route must answer the same JSON from both. Then a worker scores the lake and the score and
flag routes show what the lake holds.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import Store
from loopwise.collector.store.backend import LakeBackend
from loopwise.collector.store.lake_store import LakeStore
from loopwise.collector.store.lake_tables import ensure_lake_tables

from .conftest import LakeCollector
from .test_lake_worker import lake_query

pytestmark = pytest.mark.postgres

API_KEY = "lake-admin-secret"
TRACES = 12
# The rows both stores hold the same; the time each store wrote a span differs.
WRITE_TIME_KEYS = frozenset({"ingested_at"})


def app_spans() -> list[ReadableSpan]:
    """Traces an instrumented app sends: sessions, users, model calls, tools, errors."""
    captured = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "support-bot", "loopwise.project": "shop"})
    )
    provider.add_span_processor(SimpleSpanProcessor(captured))
    tracer = provider.get_tracer("lake-reads")
    for index in range(TRACES):
        with tracer.start_as_current_span("answer") as root:
            root.set_attribute("input.value", f"Where is order {index}?")
            root.set_attribute("session.id", f"session-{index % 4}")
            root.set_attribute("user.id", f"user-{index % 3}")
            root.set_attribute("tag.tags", ["lake", f"batch-{index % 2}"])
            with tracer.start_as_current_span("chat gpt-4o-mini") as call:
                call.set_attribute("gen_ai.operation.name", "chat")
                call.set_attribute("gen_ai.system", "openai")
                call.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                call.set_attribute("gen_ai.usage.input_tokens", 40 + index)
                call.set_attribute("gen_ai.usage.output_tokens", 10 + index)
            with tracer.start_as_current_span("lookup_order") as tool:
                tool.set_attribute("openinference.span.kind", "TOOL")
                tool.set_attribute("output.value", f"Order {index} ships tomorrow")
                if index % 5 == 0:
                    tool.set_status(Status(StatusCode.ERROR, "order service timed out"))
            root.set_attribute("output.value", f"Order {index} ships tomorrow.")
    spans = list(captured.get_finished_spans())
    provider.shutdown()
    return spans


def export(url: str, spans: list[ReadableSpan], api_key: str | None) -> None:
    """Send ``spans`` as an app would, with the official OTLP/HTTP exporter."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", headers=headers, timeout=60)
    try:
        assert exporter.export(spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()


def without_write_times(value: Any) -> Any:
    """``value`` with the per-store write time left out wherever it appears."""
    if isinstance(value, dict):
        return {k: without_write_times(v) for k, v in value.items() if k not in WRITE_TIME_KEYS}
    if isinstance(value, list):
        return [without_write_times(v) for v in value]
    return value


def first_difference(left: Any, right: Any, where: str = "") -> str | None:
    """Where ``left`` and ``right`` first differ (a readable path), or None; floats may
    differ in their last digits (each store sums in its own order)."""
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right)):
            found = first_difference(left.get(key), right.get(key), f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return f"{where}: {len(left)} items != {len(right)}"
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            found = first_difference(a, b, f"{where}[{index}]")
            if found:
                return found
        return None
    if isinstance(left, float) and isinstance(right, float):  # sums in another order
        return None if math.isclose(left, right, rel_tol=1e-9) else f"{where}: {left} != {right}"
    return None if left == right else f"{where}: {left!r} != {right!r}"


@pytest.fixture
def lake_collector(lake: LakeBackend, tmp_path: Path) -> Iterator[LakeCollector]:
    """One lake collector process that requires ``API_KEY``."""
    collector = LakeCollector(lake, tmp_path / "lake-collector.log", api_key=API_KEY)
    collector.launch()
    try:
        collector.wait_ready()
        yield collector
    finally:
        collector.stop()


@pytest.fixture
def both(
    tmp_path: Path, lake_collector: LakeCollector
) -> Iterator[tuple[Callable[[str], Any], Callable[[str], Any]]]:
    """(file GET, lake GET): the same spans stored in a file collector and in the lake."""
    spans = app_spans()
    config = CollectorConfig(db_path=tmp_path / "file.duckdb", port=0)
    with CollectorServer(config) as file_collector:
        export(file_collector.url, spans, None)
        export(lake_collector.url, spans, API_KEY)
        with (
            httpx.Client(base_url=file_collector.url, timeout=60) as file_api,
            httpx.Client(
                base_url=lake_collector.url,
                headers={"Authorization": f"Bearer {API_KEY}"},
                timeout=60,
            ) as lake_api,
        ):

            def getter(client: httpx.Client) -> Callable[[str], Any]:
                def get(path: str) -> Any:
                    reply = client.get(path)
                    assert reply.status_code == 200, f"{path}: {reply.text}"
                    return without_write_times(reply.json())

                return get

            yield getter(file_api), getter(lake_api)


def test_every_read_route_answers_from_the_lake_what_the_file_store_answers(
    both: tuple[Callable[[str], Any], Callable[[str], Any]],
) -> None:
    from_file, from_lake = both
    listed = from_lake("/api/traces?limit=100")
    assert listed["total"] == TRACES
    assert first_difference(listed, from_file("/api/traces?limit=100")) is None
    paths = [
        "/api/traces?limit=5&offset=5",
        "/api/traces?status=error",
        "/api/traces?session_id=session-1",
        "/api/traces?tag=batch-1",
        "/api/sessions",
        "/api/sessions/session-2",
        "/api/users",
        "/api/overview/extent",
        "/api/overview/facets",
        "/api/overview/root_causes",
        "/api/overview/scores",
    ]
    paths += [f"/api/traces/{row['trace_id']}" for row in listed["traces"]]
    for path in paths:
        assert first_difference(from_lake(path), from_file(path)) is None, path
    extent = from_lake("/api/overview/extent")
    until = dt.datetime.fromisoformat(extent["last"]) + dt.timedelta(hours=1)
    window = f"since={extent['first']}&until={until:%Y-%m-%dT%H:%M:%S.%fZ}&bucket_seconds=3600"
    overview = f"/api/overview?{window}"
    assert first_difference(from_lake(overview), from_file(overview)) is None
    assert from_lake(overview)["totals"]["traces"] == TRACES
    detail = from_lake(f"/api/traces/{listed['traces'][0]['trace_id']}")
    assert {span["name"] for span in detail["spans"]} == {
        "answer",
        "chat gpt-4o-mini",
        "lookup_order",
    }


def test_the_lake_collector_needs_its_key_and_its_sql_cannot_write(
    lake_collector: LakeCollector, lake: LakeBackend
) -> None:
    url = lake_collector.url
    assert httpx.get(f"{url}/health").status_code == 200  # open, as on a file collector
    assert httpx.get(f"{url}/api/traces").status_code == 401
    assert (
        httpx.get(f"{url}/api/traces", headers={"Authorization": "Bearer wrong"}).status_code == 401
    )
    unsigned = httpx.post(
        f"{url}/v1/traces", content=b"", headers={"Content-Type": "application/x-protobuf"}
    )
    assert unsigned.status_code == 401
    export(url, app_spans(), API_KEY)
    stored = lake_query(lake, "SELECT count(*) FROM spans")[0][0]
    assert stored == TRACES * 3
    signed = {"Authorization": f"Bearer {API_KEY}"}
    for statement in (
        "DELETE FROM spans_raw",
        "DROP TABLE spans_raw",
        "SELECT 1; DELETE FROM spans_raw",
        "COPY spans_raw TO '/tmp/out.parquet'",
    ):
        reply = httpx.post(f"{url}/api/sql", json={"sql": statement}, headers=signed)
        assert reply.status_code == 400, (statement, reply.text)
    counted = httpx.post(
        f"{url}/api/sql", json={"sql": "SELECT count(*) FROM spans"}, headers=signed
    )
    assert counted.json()["rows"] == [[stored]]
    assert lake_query(lake, "SELECT count(*) FROM spans")[0][0] == stored
    for missing in ("/api/reviews", "/api/datasets", "/api/keys"):  # file store only
        assert httpx.get(f"{url}{missing}", headers=signed).status_code == 404


@pytest.mark.timeout(900)  # a loaded machine makes each lake commit slower
def test_scores_and_flags_a_worker_wrote_are_served_by_the_lake_collector(
    lake_collector: LakeCollector, lake: LakeBackend, tmp_path: Path
) -> None:
    export(lake_collector.url, app_spans(), API_KEY)
    log = tmp_path / "worker.log"
    worker = subprocess.run(
        [sys.executable, "-m", "loopwise", "worker", "--store", lake.spec, "--once"],
        env={**os.environ, "LOOPWISE_DATA_PATH": str(lake.data_path)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    log.write_text(worker.stdout + worker.stderr)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    scores = lake_query(lake, "SELECT count(*) FROM scores")[0][0]
    flags = lake_query(lake, "SELECT count(*) FROM flags")[0][0]
    assert scores > 0 and flags > 0  # the default set flags the tool errors
    signed = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=lake_collector.url, headers=signed, timeout=60) as api:
        assert api.get("/api/scores", params={"limit": 1000}).json()["total"] == scores
        flag_page = api.get("/api/flags", params={"limit": 1000}).json()
        assert flag_page["total"] == flags
        assert api.get("/api/flags/clusters").json()["unclustered"] == flags
        trend = api.get("/api/overview/scores").json()
        assert trend["evaluator_count"] > 0
        flagged = flag_page["flags"][0]["trace_id"]
        detail = api.get(f"/api/traces/{flagged}").json()
        expected = lake_query(lake, "SELECT count(*) FROM scores WHERE trace_id = ?", [flagged])
        assert len(detail["scores"]) == expected[0][0]


def test_a_lake_a_collector_already_opened_takes_a_migration(
    tmp_path: Path, lake: LakeBackend
) -> None:
    source = tmp_path / "file.duckdb"
    config = CollectorConfig(db_path=source, port=0)
    with CollectorServer(config) as file_collector:
        export(file_collector.url, app_spans(), None)
    with LakeStore(lake) as store:  # what a lake collector makes on its first start
        ensure_lake_tables(store.cursor(), ("scores", "flags", "flag_clusterings", "flag_clusters"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "loopwise",
            "migrate",
            "--db",
            str(source),
            "--to",
            lake.spec,
            "--data-path",
            str(lake.data_path),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with Store(source, read_only=True) as store:
        traces = store.query("SELECT count(*) FROM traces").rows[0][0]
    assert lake_query(lake, "SELECT count(*) FROM traces")[0][0] == traces == TRACES
