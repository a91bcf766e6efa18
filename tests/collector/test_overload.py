"""Overload: past the in-flight budget a request gets 503 + Retry-After at once, reads stay
served, and every admitted request is stored.

Requests are held in flight deterministically: their bodies are streamed from a generator that
waits on an event, so the collector is mid-read while the next request arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from loopwise.collector.server import CollectorConfig
from loopwise.collector.server.decode import PROTOBUF

BUDGET = 64 * 1024
MAX_REQUESTS = 3


@pytest.fixture(scope="module")
def collector_config(tmp_path_factory: pytest.TempPathFactory) -> CollectorConfig:
    """A collector with a small in-flight budget, so overload is cheap to reach."""
    return CollectorConfig(
        db_path=tmp_path_factory.mktemp("overload") / "t.duckdb",
        port=0,
        max_inflight_bytes=BUDGET,
        max_inflight_requests=MAX_REQUESTS,
    )


def padded_request(otlp, trace_id: bytes, size: int) -> bytes:
    """A valid protobuf request of one span whose serialized size is about ``size`` bytes."""
    span = otlp.span("big", trace_id=trace_id, attributes={"input.value": "x" * size})
    return bytes(otlp.request([span]).SerializeToString())


async def held_body(
    body: bytes, release: asyncio.Event, sent: asyncio.Event
) -> AsyncIterator[bytes]:
    """Send the first half of ``body``, wait for ``release``, then the rest."""
    half = len(body) // 2
    yield body[:half]
    sent.set()
    await release.wait()
    yield body[half:]


async def wait_until_inflight(client: httpx.AsyncClient, requests: int) -> None:
    """Poll /health until the collector counts ``requests`` in flight (bounded: 1000 polls)."""
    for _ in range(1000):
        if (await client.get("/health")).json()["inflight_requests"] >= requests:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the held requests never reached the collector")


async def test_bytes_past_the_budget_get_503_with_retry_after(api, otlp, collector_server) -> None:
    held_trace, refused_trace = otlp.trace_id(), otlp.trace_id()
    held = padded_request(otlp, held_trace, BUDGET * 3 // 4)
    refused = padded_request(otlp, refused_trace, BUDGET * 3 // 4)
    release, sent = asyncio.Event(), asyncio.Event()
    headers = {"Content-Type": PROTOBUF}
    async with httpx.AsyncClient(base_url=collector_server.url, timeout=30) as client:
        first = asyncio.create_task(
            client.post("/v1/traces", content=held_body(held, release, sent), headers=headers)
        )
        await sent.wait()
        await wait_until_inflight(client, 1)

        second = await client.post("/v1/traces", content=refused, headers=headers)
        reads = await client.get("/api/traces")
        release.set()
        first_response = await first

    assert second.status_code == 503
    assert second.headers["Retry-After"] == "1"
    assert "in flight" in api.error_message(second)
    assert reads.status_code == 200
    assert first_response.status_code == 200
    assert api.count_trace(held_trace) == 1
    assert api.count_trace(refused_trace) == 0
    # Once the held request is answered the budget is free again.
    api.export_ok(ExportTraceServiceRequest.FromString(refused))
    assert api.count_trace(refused_trace) == 1


async def test_requests_past_the_count_get_503(api, otlp, collector_server) -> None:
    release = asyncio.Event()
    headers = {"Content-Type": PROTOBUF}
    traces = [otlp.trace_id() for _ in range(MAX_REQUESTS)]
    async with httpx.AsyncClient(base_url=collector_server.url, timeout=30) as client:
        holding = []
        for trace_id in traces:
            sent = asyncio.Event()
            body = padded_request(otlp, trace_id, 100)
            holding.append(
                asyncio.create_task(
                    client.post(
                        "/v1/traces", content=held_body(body, release, sent), headers=headers
                    )
                )
            )
            await sent.wait()
        await wait_until_inflight(client, MAX_REQUESTS)

        extra = otlp.trace_id()
        refused = await client.post(
            "/v1/traces", content=padded_request(otlp, extra, 100), headers=headers
        )
        health = (await client.get("/health")).json()
        release.set()
        answered = await asyncio.gather(*holding)

    assert refused.status_code == 503
    assert "Retry-After" in refused.headers
    assert health["refused_overloaded"] >= 1
    assert [r.status_code for r in answered] == [200] * MAX_REQUESTS
    assert all(api.count_trace(t) == 1 for t in traces)
    assert api.count_trace(extra) == 0
    assert api.http.get("/health").json()["inflight_requests"] == 0


def test_a_body_over_the_budget_alone_is_still_accepted(api, otlp) -> None:
    """The budget never starves one request under the size limit when nothing else runs."""
    trace_id = otlp.trace_id()
    body = padded_request(otlp, trace_id, BUDGET * 2)
    response = api.post(body, PROTOBUF)
    assert response.status_code == 200, response.content
    assert api.count_trace(trace_id) == 1


async def test_logs_share_the_in_flight_budget(api, otlp, collector_server) -> None:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

    held_trace = otlp.trace_id()
    held = padded_request(otlp, held_trace, BUDGET * 3 // 4)
    logs = ExportLogsServiceRequest()
    log_record = LogRecord(time_unix_nano=1_767_225_600_000_000_000)
    log_record.body.string_value = "y" * (BUDGET * 3 // 4)
    logs.resource_logs.add().scope_logs.add().log_records.append(log_record)
    release, sent = asyncio.Event(), asyncio.Event()
    headers = {"Content-Type": PROTOBUF}
    async with httpx.AsyncClient(base_url=collector_server.url, timeout=30) as client:
        first = asyncio.create_task(
            client.post("/v1/traces", content=held_body(held, release, sent), headers=headers)
        )
        await sent.wait()
        await wait_until_inflight(client, 1)
        refused = await client.post("/v1/logs", content=logs.SerializeToString(), headers=headers)
        release.set()
        assert (await first).status_code == 200
        retried = await client.post("/v1/logs", content=logs.SerializeToString(), headers=headers)

    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert retried.status_code == 200
    stored = api.sql("SELECT count(*) AS n FROM logs WHERE length(body) = " + str(BUDGET * 3 // 4))
    assert stored == [{"n": 1}]
