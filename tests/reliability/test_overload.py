"""Overload: many concurrent big requests get 503 + Retry-After past the in-flight budget,
reads stay served, and after the clients' retries nothing is lost or duplicated.

32 clients each post three ~4 MB OTLP requests at once to ``loopwise collect`` (default
budget: 64 requests and 32 MiB in flight); a refused request is retried after its
Retry-After, as the OTel exporters do.
"""

from __future__ import annotations

import statistics
import threading
import time

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

CLIENTS = 32
REQUESTS_PER_CLIENT = 3
SPANS_PER_REQUEST = 1600  # about 4 MB per request


def big_body(client: int, request: int) -> bytes:
    request_message = ExportTraceServiceRequest()
    scope = request_message.resource_spans.add().scope_spans.add()
    text = AnyValue(string_value=f"client {client} " + "lorem ipsum " * 200)
    for j in range(SPANS_PER_REQUEST):
        number = (client * 100 + request) * 10_000 + j + 1
        span = scope.spans.add(
            trace_id=(number // 4 + 1).to_bytes(16, "big"),
            span_id=number.to_bytes(8, "big"),
            name="overload",
            start_time_unix_nano=1_767_225_600_000_000_000 + j,
            end_time_unix_nano=1_767_225_600_100_000_000 + j,
        )
        span.attributes.append(KeyValue(key="input.value", value=text))
    return bytes(request_message.SerializeToString())


@pytest.mark.slow
def test_overload_is_503_with_retry_after_and_nothing_is_lost(collector_process) -> None:
    collector = collector_process()
    collector.start()
    bodies = {(c, r): big_body(c, r) for c in range(CLIENTS) for r in range(REQUESTS_PER_CLIENT)}
    refusals: list[str] = []
    ack_seconds: list[float] = []
    read_seconds: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS + 1)
    done = threading.Event()

    def client(number: int) -> None:
        with httpx.Client(base_url=collector.url, timeout=120) as http:
            start.wait()
            for request in range(REQUESTS_PER_CLIENT):
                while True:
                    began = time.perf_counter()
                    response = http.post(
                        "/v1/traces",
                        content=bodies[number, request],
                        headers={"Content-Type": "application/x-protobuf"},
                    )
                    if response.status_code == 200:
                        with lock:
                            ack_seconds.append(time.perf_counter() - began)
                        break
                    if response.status_code not in (429, 503):
                        with lock:
                            failures.append(f"{response.status_code}: {response.text[:100]}")
                        return
                    with lock:
                        refusals.append(response.headers.get("Retry-After", ""))
                    time.sleep(float(response.headers.get("Retry-After") or 1))

    def reader() -> None:
        with httpx.Client(base_url=collector.url, timeout=60) as http:
            start.wait()
            while not done.is_set():
                began = time.perf_counter()
                assert http.get("/api/traces", params={"limit": 20}).status_code == 200
                read_seconds.append(time.perf_counter() - began)
                time.sleep(0.1)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    reading = threading.Thread(target=reader)
    for thread in [*threads, reading]:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)
    done.set()
    reading.join(timeout=60)
    health = httpx.get(f"{collector.url}/health", timeout=30).json()
    collector.stop()

    assert failures == []
    assert refusals and all(value.isdigit() and int(value) >= 1 for value in refusals)
    assert health["refused_overloaded"] == len(refusals)
    total, distinct = collector.read("SELECT count(*), count(DISTINCT span_id) FROM spans")[0]
    expected = CLIENTS * REQUESTS_PER_CLIENT * SPANS_PER_REQUEST
    assert (total, distinct) == (expected, expected)
    size_mb = statistics.mean(len(b) for b in bodies.values()) / 1e6
    print(
        f"\noverload: {CLIENTS} clients x {REQUESTS_PER_CLIENT} requests of {size_mb:.1f} MB: "
        f"{len(refusals)} answered 503 + Retry-After, all retried; stored {total} of "
        f"{expected} spans, duplicated {total - distinct}; ack p50 "
        f"{statistics.median(ack_seconds):.2f} s, max {max(ack_seconds):.2f} s; "
        f"/api/traces during the burst p50 {statistics.median(read_seconds) * 1000:.0f} ms, "
        f"max {max(read_seconds) * 1000:.0f} ms ({len(read_seconds)} reads)"
    )
