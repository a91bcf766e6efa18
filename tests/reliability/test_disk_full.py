"""Disk full: the collector answers 503 with Retry-After, stores nothing half-way, keeps
serving reads, and recovers by itself once there is room again.

A full disk is simulated without root with the process's file-size limit (RLIMIT_FSIZE, the
soft limit only): past it every write of the collector fails with EFBIG as it would with
ENOSPC (CPython ignores SIGXFSZ), and raising the limit again (prlimit, as freeing space) lets
writes through. The collector is then SIGKILLed and restarted to check that what was
acknowledged is on disk.
"""

from __future__ import annotations

import os
import resource
import sys

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

LIMIT_BYTES = 6 * 1024 * 1024
SPANS_PER_REQUEST = 200

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="prlimit on another process is Linux only"
)


def request_body(index: int) -> bytes:
    """200 spans with 2 KB of incompressible input each."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for j in range(SPANS_PER_REQUEST):
        number = index * 1000 + j + 1
        span = scope.spans.add(
            trace_id=number.to_bytes(16, "big"),
            span_id=number.to_bytes(8, "big"),
            name="disk-full",
            start_time_unix_nano=1_767_225_600_000_000_000,
            end_time_unix_nano=1_767_225_600_100_000_000,
        )
        value = AnyValue(string_value=os.urandom(1000).hex())
        span.attributes.append(KeyValue(key="input.value", value=value))
    return bytes(request.SerializeToString())


def limit_file_size() -> None:
    """In the collector process: files may not grow past LIMIT_BYTES (soft limit only)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT_BYTES, resource.RLIM_INFINITY))


@pytest.mark.slow
def test_disk_full_is_a_503_with_retry_after_then_recovers(collector_process) -> None:
    collector = collector_process(preexec_fn=limit_file_size)
    collector.start()
    http = httpx.Client(base_url=collector.url, timeout=60)
    headers = {"Content-Type": "application/x-protobuf"}
    acked: list[int] = []
    refused: list[httpx.Response] = []
    refused_bodies: list[int] = []
    index = 0
    while len(refused) < 3:
        assert index < 200, "the disk never filled"
        response = http.post("/v1/traces", content=request_body(index), headers=headers)
        if response.status_code == 200:
            acked.append(index)
        else:
            refused.append(response)
            refused_bodies.append(index)
        index += 1

    assert all(r.status_code == 503 and int(r.headers["Retry-After"]) >= 1 for r in refused)
    assert http.get("/health").status_code == 200
    assert http.get("/api/traces").status_code == 200
    stored = http.post("/api/sql", json={"sql": "SELECT count(*) FROM spans"}).json()
    assert stored["rows"] == [[len(acked) * SPANS_PER_REQUEST]]  # a refused request stored nothing

    # Space comes back: the client's retries of the refused requests now succeed.
    assert collector.process is not None
    resource.prlimit(
        collector.process.pid,
        resource.RLIMIT_FSIZE,
        (resource.RLIM_INFINITY, resource.RLIM_INFINITY),
    )
    for retried in refused_bodies:
        assert http.post("/v1/traces", content=request_body(retried), headers=headers).is_success
    http.close()
    collector.kill9()
    collector.preexec_fn = None
    collector.start()
    collector.stop()

    total, distinct = collector.read("SELECT count(*), count(DISTINCT span_id) FROM spans")[0]
    expected = (len(acked) + len(refused_bodies)) * SPANS_PER_REQUEST
    assert (total, distinct) == (expected, expected)
    print(
        f"\ndisk full (file-size limit {LIMIT_BYTES // 2**20} MiB): {len(acked)} requests "
        f"acknowledged, then {len(refused)} answered 503 Retry-After "
        f"{refused[0].headers['Retry-After']} s with nothing stored; after room came back "
        f"the retries stored; after kill -9 and restart {total} spans, lost 0, duplicated 0"
    )
