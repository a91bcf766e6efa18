"""``loopwise worker`` on a lake: workers share the partitions, each span is scored once,
a stalled worker's late commit is refused, and spans stored twice are scored once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from loopwise.collector.store.backend import LakeBackend, connect_lake
from loopwise.evals.defaults import default_config
from loopwise.evals.lake_worker import LakeWorker, worker_lag

from .conftest import LakeCollector
from .test_lake_collectors import send_all

pytestmark = pytest.mark.postgres

TRACES = 60
CALLS_PER_TRACE = 3


def model_call_batches() -> tuple[list[list[ReadableSpan]], int]:
    """Traces of a chain over three model calls; every seventh call fails. Returns the
    batches and how many calls failed."""
    captured = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"loopwise.project": "lake"}))
    provider.add_span_processor(SimpleSpanProcessor(captured))
    tracer = provider.get_tracer("lake-worker-test")
    failed = 0
    for index in range(TRACES):
        with tracer.start_as_current_span("answer") as root:
            root.set_attribute("input.value", f"question {index}")
            for step in range(CALLS_PER_TRACE):
                with tracer.start_as_current_span("chat") as span:
                    span.set_attribute("gen_ai.operation.name", "chat")
                    span.set_attribute("gen_ai.request.model", "gpt-4.1-mini")
                    span.set_attribute("gen_ai.usage.input_tokens", 40 + step)
                    span.set_attribute("output.value", f"Your parcel {index} ships tomorrow.")
                    if (index * CALLS_PER_TRACE + step) % 7 == 0:
                        span.set_status(Status(StatusCode.ERROR, "upstream timeout"))
                        failed += 1
    spans = list(captured.get_finished_spans())
    provider.shutdown()
    return [spans[i : i + 40] for i in range(0, len(spans), 40)], failed


def lake_query(
    lake: LakeBackend, sql: str, params: list[object] | None = None
) -> list[tuple[object, ...]]:
    """Rows of ``sql`` on the lake, from a connection of its own."""
    con = connect_lake(lake)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def score_everything(lake: LakeBackend) -> None:
    """One in-process worker holding every partition scores until nothing is left."""
    worker = LakeWorker(lake, default_config(), owner="only")
    try:
        worker.refresh()
        while worker.run_once():
            pass
    finally:
        worker.close()


def worker_process(lake: LakeBackend, log: Path) -> subprocess.Popen[bytes]:
    """``loopwise worker`` as a user starts it."""
    return subprocess.Popen(
        [sys.executable, "-m", "loopwise", "worker", "--store", lake.spec],
        env={**os.environ, "LOOPWISE_DATA_PATH": str(lake.data_path), "COLUMNS": "200"},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def read_logs(logs: list[Path]) -> list[str]:
    """The workers' output so far."""
    return [log.read_text()[-2000:] for log in logs]


def wait_for(
    check: Callable[[], bool], timeout_s: float = 240.0, state: Callable[[], object] = str
) -> None:
    """Poll ``check`` until it holds; on time-out report ``state()``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"condition not reached; state: {state()}")


@pytest.mark.timeout(900)  # a loaded machine makes each lake commit slower
def test_two_worker_processes_share_the_lake_and_score_each_span_once(
    lake: LakeBackend, tmp_path: Path, start_collectors: Callable[[int], list[LakeCollector]]
) -> None:
    (collector,) = start_collectors(1)
    batches, failed = model_call_batches()
    calls = TRACES * CALLS_PER_TRACE
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [worker_process(lake, log) for log in logs]
    try:

        def shared_out() -> tuple[object, ...]:
            try:
                return lake_query(
                    lake,
                    "SELECT count(DISTINCT owner), count(DISTINCT partition) FROM worker_leases "
                    "WHERE owner IS NOT NULL AND expires_at > ?",
                    [dt.datetime.now(dt.UTC).replace(tzinfo=None)],
                )[0]
            except Exception:  # the first worker may not have made the table yet
                return ()

        # The first worker to start takes every partition, gives half back once it sees
        # the second, and the second claims them.
        wait_for(
            lambda: shared_out() == (2, 16),
            state=lambda: (lake_query(lake, "SELECT * FROM worker_leases"), read_logs(logs)),
        )
        send_all(collector.url, batches)

        def scored_everything() -> bool:
            rows = lake_query(lake, "SELECT count(*) FROM scores WHERE name = 'error_status'")
            return rows[0][0] == calls

        wait_for(
            scored_everything,
            state=lambda: (lake_query(lake, "SELECT * FROM worker_marks"), read_logs(logs)),
        )
        assert lake_query(lake, "SELECT count(DISTINCT owner) FROM workers")[0][0] == 2
    finally:
        for process in workers:
            process.send_signal(signal.SIGTERM)
        for process in workers:
            process.wait(timeout=60)
    outputs = [log.read_text() for log in logs]
    assert all(process.returncode == 0 for process in workers), outputs

    total, distinct, per_span = lake_query(
        lake,
        "SELECT count(*), count(DISTINCT score_id), "
        "count(DISTINCT name || '|' || span_id) FROM scores",
    )[0]
    assert total == distinct == per_span  # no span scored twice by one evaluator
    errors = lake_query(
        lake,
        "SELECT count(*) FILTER (WHERE NOT passed), count(*) FROM scores "
        "WHERE name = 'error_status'",
    )[0]
    assert errors == (failed, calls)  # every call once; the failed ones fail
    flags = lake_query(lake, "SELECT count(*) FROM flags WHERE evaluator = 'error_status'")
    assert flags[0][0] == failed
    scored_by = lake_query(
        lake, "SELECT count(DISTINCT json_extract_string(metadata, '$.worker')) FROM scores"
    )
    assert scored_by[0][0] == 2  # both did part of the work
    assert lake_query(lake, "SELECT count(*) FROM workers")[0][0] == 0  # clean stops


def test_a_stalled_worker_loses_its_partitions_and_its_late_commit(
    lake: LakeBackend, start_collectors: Callable[[int], list[LakeCollector]]
) -> None:
    (collector,) = start_collectors(1)
    batches, _ = model_call_batches()
    send_all(collector.url, batches)
    config = default_config()
    stalled = LakeWorker(lake, config, owner="stalled", lease_s=2.0)
    taker = LakeWorker(lake, config, owner="taker", lease_s=2.0)
    try:
        assert len(stalled.refresh()) == 16  # alone: every partition
        assert taker.refresh() == []  # all are leased
        wait_for(lambda: stalled.leases.held() == [], timeout_s=10)
        assert len(taker.refresh()) == 16  # the stalled worker's leases expired
        while taker.run_once():  # two-second leases, renewed as it goes
            pass
        scores_before = lake_query(lake, "SELECT count(*) FROM scores")[0][0]
        assert scores_before > 0

        assert stalled.run_once() == 0  # it holds nothing now

        # Even a worker that believes it still holds a lease (a clock far behind) cannot
        # store a window the other worker stored: the watermark row it read has moved.
        stalled.leases.holds = lambda _cur, _partition: True  # type: ignore[method-assign]
        keys = [b.key for b in config.bindings] + list(stalled.rule_keys.values())
        stale = dict.fromkeys(keys, -1)  # every watermark, the anomaly rules' included
        stalled._marks = lambda *_args: stale  # type: ignore[method-assign]
        newest = lake_query(lake, "SELECT max(rowid) FROM spans_raw")[0][0]
        assert isinstance(newest, int)
        for partition in range(16):
            assert stalled.score_partition(partition, newest) == 0
        assert stalled.stats.lost_commits > 0
        assert lake_query(lake, "SELECT count(*) FROM scores")[0][0] == scores_before
        assert worker_lag(taker.con, 16).total_seconds() == 0
    finally:
        stalled.close()
        taker.close()


def test_a_span_stored_twice_is_scored_once(
    lake: LakeBackend, start_collectors: Callable[[int], list[LakeCollector]]
) -> None:
    (collector,) = start_collectors(1)
    batches, _ = model_call_batches()
    send_all(collector.url, batches)
    # Two collectors that commit the same span at the same moment both store it.
    con = connect_lake(lake)
    try:
        con.execute("INSERT INTO spans_raw SELECT * FROM spans_raw")
    finally:
        con.close()
    assert lake_query(lake, "SELECT count(*) FROM spans_raw")[0][0] == 2 * TRACES * 4

    score_everything(lake)
    total, per_span = lake_query(
        lake, "SELECT count(*), count(DISTINCT name || '|' || span_id) FROM scores"
    )[0]
    assert total == per_span
    calls = lake_query(lake, "SELECT count(*) FROM scores WHERE name = 'error_status'")
    assert calls[0][0] == TRACES * CALLS_PER_TRACE


def tool_calls_with_outliers(normal: int, slow: int) -> tuple[list[list[ReadableSpan]], set[str]]:
    """``normal`` traces whose tool call takes 10-14 ms and ``slow`` ones taking 900 ms, in
    batches; the slow calls' span ids."""
    captured = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"loopwise.project": "lake-anomaly"}))
    provider.add_span_processor(SimpleSpanProcessor(captured))
    tracer = provider.get_tracer("lake-anomaly")
    start = time.time_ns()
    slow_ids = set()
    for index in range(normal + slow):
        began = start + index * 1_000_000_000
        took_ms = 900 if index % ((normal + slow) // slow) == 7 else 10 + index % 5
        with tracer.start_as_current_span("handle", start_time=began, end_on_exit=False) as root:
            tool = tracer.start_span(
                "lookup_order",
                start_time=began,
                attributes={"openinference.span.kind": "TOOL", "output.value": "shipped"},
            )
            tool.end(end_time=began + took_ms * 1_000_000)
            if took_ms == 900:
                slow_ids.add(format(tool.get_span_context().span_id, "016x"))
            root.end(end_time=began + (took_ms + 1) * 1_000_000)
    spans = list(captured.get_finished_spans())
    provider.shutdown()
    return [spans[i : i + 200] for i in range(0, len(spans), 200)], slow_ids


def test_the_worker_flags_latency_outliers_against_the_whole_lake(
    lake: LakeBackend, start_collectors: Callable[[int], list[LakeCollector]]
) -> None:
    (collector,) = start_collectors(1)
    batches, slow_ids = tool_calls_with_outliers(normal=400, slow=4)
    assert len(slow_ids) == 4
    send_all(collector.url, batches)

    score_everything(lake)
    flagged = lake_query(
        lake, "SELECT span_id, reason FROM flags WHERE rule = 'latency_anomaly' ORDER BY span_id"
    )
    assert {span_id for span_id, _ in flagged} == slow_ids  # each partition judged its own
    assert len(flagged) == len(slow_ids)
    assert all("'lookup_order' spans" in reason for _, reason in flagged)
    marks = lake_query(
        lake,
        "SELECT count(DISTINCT partition) FROM worker_marks WHERE evaluator = 'latency_anomaly'",
    )
    assert marks[0][0] == 16
    score_everything(lake)  # nothing new: no flag twice
    again = lake_query(lake, "SELECT count(*) FROM flags WHERE rule = 'latency_anomaly'")
    assert again[0][0] == len(slow_ids)
