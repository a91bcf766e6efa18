"""kill -9 of the collector during review writes: every acknowledged action is kept and no
action is half-written.

A reviewer thread works through review items over HTTP (comment, assign, correct with a
verdict, reopen; each with the version it saw) while the collector is SIGKILLed three times
and restarted. An action cut by a kill is unknown to the reviewer: it re-reads the item and
goes on from the version it finds. Afterwards the file must hold every acknowledged action at
the version it was acknowledged with, versions 1..n for each item without a gap, and exactly
one correction for each ``correct`` event (none without its event).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

ITEMS = 40
KILLS = 3
ACTIONS: list[dict[str, Any]] = [
    {"action": "comment", "comment": "looking"},
    {"action": "assign", "assignee": "sam"},
    {
        "action": "correct",
        "corrected_output": "Your order ORD-10001 ships tomorrow.",
        "verdicts": {"invented_identifiers": "fail"},
    },
    {"action": "reopen"},
]


def seed_items(url: str, otlp_request: bytes) -> list[str]:
    """Spans, then one manual review item per LLM span; their ids."""
    response = httpx.post(
        f"{url}/v1/traces",
        content=otlp_request,
        headers={"Content-Type": "application/x-protobuf"},
        timeout=30,
    )
    assert response.status_code == 200
    traces = httpx.get(f"{url}/api/traces", params={"limit": ITEMS}, timeout=30).json()["traces"]
    items = []
    for trace in traces:
        body = {"trace_id": trace["trace_id"], "span_id": trace["root_span_id"], "actor": "seed"}
        picked = httpx.post(f"{url}/api/reviews", json=body, timeout=30)
        assert picked.status_code == 201, picked.text
        items.append(picked.json()["item_id"])
    return items


class Reviewer(threading.Thread):
    """Applies the ACTIONS cycle to every item ``rounds`` times, through kills."""

    def __init__(self, url: str, items: list[str], rounds: int) -> None:
        super().__init__(daemon=True, name="fault-reviewer")
        self.url, self.items, self.rounds = url, items, rounds
        self.acked: list[tuple[str, int, str]] = []
        self.unknown = 0  # actions whose outcome a kill hid
        self.http = httpx.Client(timeout=10)

    def _get(self, item_id: str) -> dict[str, Any]:
        while True:
            try:
                response = self.http.get(f"{self.url}/api/reviews/{item_id}")
                if response.status_code == 200:
                    return dict(response.json()["item"])
            except httpx.HTTPError:
                pass
            time.sleep(0.2)

    def run(self) -> None:
        for _ in range(self.rounds):
            for item_id in self.items:
                for step in ACTIONS:
                    self._apply(item_id, step)

    def _apply(self, item_id: str, step: dict[str, Any]) -> None:
        item = self._get(item_id)
        body = {**step, "actor": "sam", "expected_version": item["version"]}
        try:
            response = self.http.post(f"{self.url}/api/reviews/{item_id}/actions", json=body)
        except httpx.HTTPError:
            self.unknown += 1
            return
        if response.status_code == 200:
            self.acked.append((item_id, int(response.json()["version"]), step["action"]))
        elif response.status_code >= 500:
            self.unknown += 1
        # 409 (moved on by an action a kill hid) or 400 (not allowed in this state): go on.


@pytest.mark.slow
def test_kill_9_during_review_writes_keeps_every_acknowledged_action(
    collector_process, otlp_body, until
) -> None:
    collector = collector_process()
    collector.start()
    items = seed_items(collector.url, otlp_body(ITEMS))
    reviewer = Reviewer(collector.url, items, rounds=3)
    reviewer.start()
    total = 3 * len(items) * len(ACTIONS)
    for kill in range(1, KILLS + 1):
        assert until(lambda k=kill: len(reviewer.acked) >= k * total // (KILLS + 2), 600, 0.01)
        time.sleep(0.007 * kill)  # land at different points of the request cycle
        collector.kill9()
        time.sleep(0.3)
        collector.start()
    reviewer.join(timeout=900)
    assert not reviewer.is_alive()
    collector.stop()

    events = collector.read("SELECT item_id, version, action, correction_id FROM review_events")
    by_key = {(item_id, version): action for item_id, version, action, _ in events}
    assert all(by_key.get((i, v)) == a for i, v, a in reviewer.acked)  # none lost
    for item_id in items:
        versions = sorted(v for i, v in by_key if i == item_id)
        assert versions == list(range(1, len(versions) + 1))  # no gap, no duplicate
    corrections = dict(collector.read("SELECT correction_id, item_id FROM corrections"))
    corrected = [c for _, _, action, c in events if action == "correct"]
    assert all(c in corrections for c in corrected)
    assert sorted(corrections) == sorted(corrected)  # no correction without its event
    print(
        f"\nkill -9 during review writes: {len(reviewer.acked)} acknowledged actions on "
        f"{len(items)} items, {collector.kills} kills, {reviewer.unknown} actions cut by a kill; "
        f"{len(events)} events and {len(corrections)} corrections stored, lost 0"
    )


@pytest.fixture
def otlp_body():
    """An OTLP protobuf body of ``n`` one-span LLM traces (built with the proto classes)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    def make(n: int) -> bytes:
        request = ExportTraceServiceRequest()
        scope = request.resource_spans.add().scope_spans.add()
        for index in range(1, n + 1):
            span = scope.spans.add(
                trace_id=(0xFA00 + index).to_bytes(16, "big"),
                span_id=(0xFB00 + index).to_bytes(8, "big"),
                name="draft_reply",
                start_time_unix_nano=1_767_225_600_000_000_000 + index,
                end_time_unix_nano=1_767_225_600_100_000_000 + index,
            )
            for key, value in (
                ("openinference.span.kind", "LLM"),
                ("output.value", f"Your order ORD-{index} ships."),
            ):
                span.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
        return bytes(request.SerializeToString())

    return make
