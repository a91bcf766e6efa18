"""``loopwise.hold``: a held output waits in the review queue and the running workflow gets
the reviewer's decision, through restarts and timeouts, without an exception."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import loopwise
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.evals import EvalsExtension
from loopwise.evals.suites.api import SuiteRunsExtension
from loopwise.feedback import FeedbackExtension

TICKET = "Where is my order ORD-10001?"
BAD_REPLY = "Your order ORD-99999 ships tomorrow."
PROJECT = "held-test"


def start_collector(db: Path, port: int = 0) -> CollectorServer:
    """A collector hosting every extension (no background scoring or sync)."""
    extensions = [
        EvalsExtension(online=False),
        FeedbackExtension(sync_interval_s=None),
        SuiteRunsExtension(),
    ]
    return CollectorServer(CollectorConfig(db_path=db, port=port), extensions=extensions).start()


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorServer]:
    """A fresh collector for one test."""
    server = start_collector(tmp_path / "held.duckdb")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(collector: CollectorServer, tmp_path: Path) -> Iterator[loopwise.Client]:
    """An SDK client sending to the collector."""
    made = loopwise.Client()
    made.init(PROJECT, endpoint=collector.url, spool_dir=tmp_path / "spool", set_global=False)
    yield made
    made.shutdown()


class Reviewer:
    """Plays the person at the queue: waits for the held item, then acts on it."""

    def __init__(self, url: str) -> None:
        self.url = url

    def held_item(self) -> dict[str, Any]:
        """The first item of the queue once a held one is there (bounded wait)."""
        with httpx.Client(base_url=self.url, timeout=10) as http:
            for _ in range(500):
                items = http.get("/api/reviews", params={"state": "held"}).json()["items"]
                if items:
                    queue = http.get("/api/reviews").json()["items"]
                    assert queue[0]["item_id"] == items[0]["item_id"]  # held come first
                    return dict(items[0])
                threading.Event().wait(0.02)
        raise AssertionError("no held item appeared")

    def act(self, item: dict[str, Any], action: str, **fields: Any) -> httpx.Response:
        """Approve, correct or reject ``item`` at the version seen."""
        body = {"action": action, "actor": "rita", "expected_version": item["version"], **fields}
        return httpx.post(f"{self.url}/api/reviews/{item['item_id']}/actions", json=body)


def in_background(work: Any) -> threading.Thread:
    """Run ``work`` on a thread (the reviewer acts while the workflow waits)."""
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_a_corrected_held_output_returns_to_the_workflow_and_becomes_a_correction(
    collector: CollectorServer, client: loopwise.Client
) -> None:
    reviewer = Reviewer(collector.url)
    seen: dict[str, Any] = {}

    def review() -> None:
        item = seen["item"] = reviewer.held_item()
        assert reviewer.act(
            item, "correct", corrected_output="ORD-10001 ships tomorrow."
        ).is_success

    with client.span("draft_reply", kind="llm") as span:
        check = loopwise.check(BAD_REPLY, evaluators=["invented_identifiers"], input=TICKET)
        ticket = loopwise.hold(output=BAD_REPLY, input=TICKET, check=check, client=client)
        thread = in_background(review)
        decision = ticket.wait(timeout=60)
        span.set_output(decision.output)
        trace_id = span.trace_id
    thread.join()

    assert (decision.action, decision.output) == ("corrected", "ORD-10001 ships tomorrow.")
    assert decision.decided_by == "rita" and decision.item_id == ticket.item_id
    item = seen["item"]
    assert (item["source"], item["trace_id"], item["evaluator"]) == (
        "held",
        trace_id,
        "invented_identifiers",
    )
    assert item["held_output"] == BAD_REPLY and item["held_input"] == TICKET
    assert item["held_check"]["failed"] == ["invented_identifiers"]
    corrections = httpx.get(f"{collector.url}/api/reviews/corrections").json()["corrections"]
    [correction] = [c for c in corrections if c["item_id"] == ticket.item_id]
    assert correction["original_output"] == BAD_REPLY
    assert correction["corrected_output"] == "ORD-10001 ships tomorrow."
    assert correction["verdicts"] == {"invented_identifiers": "fail"}


@pytest.mark.parametrize(
    ("action", "fields", "expected"),
    [("approve", {}, ("approved", BAD_REPLY)), ("reject", {"comment": "spam"}, ("rejected", None))],
)
def test_approve_and_reject_release_the_wait(
    collector: CollectorServer, client: loopwise.Client, action: str, fields: dict, expected: tuple
) -> None:
    reviewer = Reviewer(collector.url)
    ticket = loopwise.hold(output=BAD_REPLY, reason="looks odd", client=client)
    thread = in_background(lambda: reviewer.act(reviewer.held_item(), action, **fields))
    decision = ticket.wait(timeout=60)
    thread.join()
    assert (decision.action, decision.output) == expected
    assert decision.released is (action == "approve")


def test_a_timeout_is_a_decision_not_an_exception(
    collector: CollectorServer, client: loopwise.Client
) -> None:
    ticket = loopwise.hold(output=BAD_REPLY, client=client)
    decision = ticket.wait(timeout=0.5)
    assert (decision.action, decision.output, decision.released) == ("timeout", None, False)
    item = httpx.get(f"{collector.url}/api/reviews/{ticket.item_id}").json()["item"]
    assert item["state"] == "held"  # still waiting for a person


def test_the_wait_survives_a_collector_restart(tmp_path: Path) -> None:
    db = tmp_path / "restart.duckdb"
    first = start_collector(db)
    port = first.port
    client = loopwise.Client()
    client.init(PROJECT, endpoint=first.url, spool_dir=tmp_path / "spool", set_global=False)
    ticket = loopwise.hold(output=BAD_REPLY, client=client, hold_id="restart-1")
    assert ticket.item_id is not None
    first.stop()
    outcome: dict[str, Any] = {}
    waiting = in_background(lambda: outcome.setdefault("decision", ticket.wait(timeout=60)))
    second = start_collector(db, port=port)
    try:
        reviewer = Reviewer(second.url)
        assert reviewer.act(reviewer.held_item(), "approve").is_success
        waiting.join(timeout=60)
    finally:
        second.stop()
        client.shutdown()
    assert outcome["decision"].action == "approved"


def test_holding_twice_with_one_hold_id_opens_one_item(
    collector: CollectorServer, client: loopwise.Client
) -> None:
    first = loopwise.hold(output=BAD_REPLY, client=client, hold_id="same")
    again = loopwise.hold(output=BAD_REPLY, client=client, hold_id="same")
    assert first.item_id == again.item_id is not None
    items = httpx.get(f"{collector.url}/api/reviews", params={"state": "held"}).json()["items"]
    assert len(items) == 1


def test_no_collector_means_a_timeout_decision_and_no_exception(tmp_path: Path) -> None:
    client = loopwise.Client()
    client.init(PROJECT, endpoint="http://127.0.0.1:9", spool_dir=tmp_path / "s", set_global=False)
    ticket = loopwise.hold(output=BAD_REPLY, client=client)
    assert ticket.item_id is None
    assert ticket.wait(timeout=0.3).action == "timeout"
    client.shutdown()


async def test_wait_async_does_not_block_the_loop(
    collector: CollectorServer, client: loopwise.Client
) -> None:
    reviewer = Reviewer(collector.url)
    ticket = loopwise.hold(output=BAD_REPLY, client=client)
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    beating = asyncio.create_task(heartbeat())
    thread = in_background(lambda: reviewer.act(reviewer.held_item(), "approve"))
    decision = await ticket.wait_async(timeout=60)
    beating.cancel()
    thread.join()
    assert decision.action == "approved"
    assert ticks > 1  # the event loop ran while waiting


def test_observe_with_a_guard_holds_and_returns_the_correction(
    collector: CollectorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reviewer = Reviewer(collector.url)
    default = loopwise.default_client()
    default.init(PROJECT, endpoint=collector.url, spool_dir=tmp_path / "spool", set_global=False)

    @loopwise.observe(kind="llm", guard=["invented_identifiers"], hold_timeout_s=60)
    def draft_reply(ticket: str) -> str:
        return BAD_REPLY

    @loopwise.observe(guard=["invented_identifiers"], on_fail="raise")
    def strict_reply(ticket: str) -> str:
        return BAD_REPLY

    @loopwise.observe(guard=["invented_identifiers"], on_fail=lambda out, check: "[withheld]")
    def custom_reply(ticket: str) -> str:
        return BAD_REPLY

    thread = in_background(
        lambda: reviewer.act(
            reviewer.held_item(), "correct", corrected_output="Checking ORD-10001."
        )
    )
    try:
        assert draft_reply(TICKET) == "Checking ORD-10001."
        thread.join()
        with pytest.raises(loopwise.GuardFailed, match="invented_identifiers"):
            strict_reply(TICKET)
        assert custom_reply(TICKET) == "[withheld]"
        assert draft_reply.__name__ == "draft_reply"
    finally:
        default.shutdown()
