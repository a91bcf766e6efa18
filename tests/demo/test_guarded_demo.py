"""The demo workflow checks each draft reply and holds the ones that invent order ids; a
reviewer (played by the test) decides, and the workflow sends what the reviewer chose."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

import loopwise
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.demo import HOLDING_REPLY, FaultRates, Guard, run_traffic
from loopwise.demo.traffic import TraceOutcome
from loopwise.evals import EvalsExtension
from loopwise.feedback import FeedbackExtension

ONLY_INVENTED_IDS = FaultRates(
    invalid_json=0.0, invented_order_id=1.0, refusal=0.0, slow_call=0.0, model_error=0.0
)


def test_held_drafts_are_released_by_the_reviewer(tmp_path: Path) -> None:
    config = CollectorConfig(db_path=tmp_path / "demo.duckdb", port=0)
    extensions = [EvalsExtension(online=False), FeedbackExtension(sync_interval_s=None)]
    with CollectorServer(config, extensions=extensions) as server:
        client = loopwise.Client()
        client.init("support-bot", endpoint=server.url, spool_dir=tmp_path / "spool")
        stop = threading.Event()
        decided: list[str] = []

        def reviewer() -> None:
            with httpx.Client(base_url=server.url, timeout=10) as http:
                while not stop.is_set() and len(decided) < 2:
                    held = http.get("/api/reviews", params={"state": "held"}).json()["items"]
                    for item in held:
                        action = "correct" if not decided else "reject"
                        body = {
                            "action": action,
                            "actor": "rita",
                            "expected_version": item["version"],
                        }
                        if action == "correct":
                            body["corrected_output"] = "We are checking your order."
                        assert http.post(f"/api/reviews/{item['item_id']}/actions", json=body)
                        decided.append(action)
                    stop.wait(0.05)

        thread = threading.Thread(target=reviewer, daemon=True)
        thread.start()
        outcomes: list[TraceOutcome] = []
        run_traffic(
            client,
            count=2,
            interval_s=0,
            seed=3,
            time_scale=0,
            rates=ONLY_INVENTED_IDS,
            guard=Guard(wait_s=30),
            on_trace=outcomes.append,
        )
        stop.set()
        thread.join()
        client.shutdown()
        corrections = httpx.get(f"{server.url}/api/reviews/corrections").json()["corrections"]

    assert decided == ["correct", "reject"]
    assert [o.reply for o in outcomes] == ["We are checking your order.", HOLDING_REPLY]
    assert [c["corrected_output"] for c in corrections] == ["We are checking your order."]


def test_without_a_wait_the_holding_reply_goes_out_and_the_draft_stays_queued(
    tmp_path: Path,
) -> None:
    config = CollectorConfig(db_path=tmp_path / "live.duckdb", port=0)
    with CollectorServer(config, extensions=[FeedbackExtension(sync_interval_s=None)]) as server:
        client = loopwise.Client()
        client.init("support-bot", endpoint=server.url, spool_dir=tmp_path / "spool")
        outcomes: list[TraceOutcome] = []
        run_traffic(
            client,
            count=3,
            interval_s=0,
            seed=3,
            time_scale=0,
            rates=ONLY_INVENTED_IDS,
            guard=Guard(),
            on_trace=outcomes.append,
        )
        client.shutdown()
        held = httpx.get(f"{server.url}/api/reviews", params={"state": "held"}).json()["items"]
    assert [o.reply for o in outcomes] == [HOLDING_REPLY] * 3
    assert len(held) == 3
    assert all("ORD-" in item["held_output"] for item in held)
