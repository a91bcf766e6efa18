"""Alerts: new failure clusters, failure rates over a threshold and held outputs left waiting
reach a real webhook receiver once each, signed, retried on failure."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

import loopwise
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import Store
from loopwise.evals import EvalsExtension, OnlineWorker, cluster_all, config_from_mapping
from loopwise.evals.alert_config import AlertRule
from loopwise.evals.alerts import AlertMonitor
from loopwise.evals.webhooks import WebhookSender, deliver, signature
from loopwise.feedback.held import held_output

SECRET = "whsec-test"


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that records requests and answers ``statuses`` in turn
    (200 once they run out)."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running receiver."""
    state = Receiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            state.requests.append({"headers": dict(self.headers), "body": body})
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()


@pytest.fixture
def failing_store(tmp_path: Path) -> Iterator[Store]:
    """A store where most draft replies invent order ids, scored, flagged and clustered."""
    db = tmp_path / "alerts.duckdb"
    client = loopwise.Client()
    client.init("support-bot", db=db, set_global=False, batch=False)
    for number in range(6):
        with client.span("draft_reply", kind="llm") as span:
            span.set_input(f"Where is my order ORD-1000{number}?")
            invented = number < 4
            span.set_output(
                f"Order ORD-9999{number} ships." if invented else f"ORD-1000{number} ok"
            )
    client.shutdown()
    store = Store(db)
    config = config_from_mapping({"evaluators": [{"use": "invented_identifiers", "flag": "high"}]})
    OnlineWorker(store, config).run_once()
    cluster_all(store)
    try:
        yield store
    finally:
        store.close()


def wait_for(receiver: Receiver, count: int) -> None:
    """Until the receiver holds ``count`` requests (bounded)."""
    for _ in range(500):
        if len(receiver.requests) >= count:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"{len(receiver.requests)} of {count} requests arrived")


def test_each_alert_is_raised_once_and_signed(failing_store: Store, receiver: Receiver) -> None:
    rule = AlertRule(url=receiver.url, threshold=0.5, min_scores=3, held_minutes=10, secret=SECRET)
    held_output(
        failing_store,
        hold_id="h1",
        project="support-bot",
        trace_id="ab" * 16,
        output="Order ORD-99999 ships.",
        reason="invented_identifiers",
    )
    monitor = AlertMonitor(failing_store, [rule], dashboard_url="http://dash:8501")
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=15)

    raised = monitor.run_once(now=later)
    again = monitor.run_once(now=later)
    monitor.close()

    clusters = failing_store.query("SELECT count(DISTINCT cluster_label) FROM flag_clusters").rows[
        0
    ][0]
    events = [a.event for a in raised]
    assert sorted(set(events)) == ["failure_rate", "held_waiting", "new_cluster"]
    assert events.count("new_cluster") == clusters >= 1
    assert again == []  # raised once
    wait_for(receiver, len(raised))
    payloads: dict[str, Any] = {}
    cluster_flags = 0
    for request in receiver.requests:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        expected = signature(SECRET, headers["x-loopwise-timestamp"], request["body"])
        assert hmac.compare_digest(headers["x-loopwise-signature"], expected)
        payload = json.loads(request["body"])
        payloads[payload["event"]] = payload
        cluster_flags += payload.get("flags", 0) if payload["event"] == "new_cluster" else 0
    rate = payloads["failure_rate"]
    assert (rate["evaluator"], rate["scores"], rate["failed"]) == ("invented_identifiers", 6, 4)
    assert rate["examples"][0].startswith("http://dash:8501/traces?trace=")
    assert cluster_flags == 4 and payloads["new_cluster"]["cluster"]
    assert payloads["held_waiting"]["item_id"]
    assert all(p["text"] and p["dashboard_url"] == "http://dash:8501" for p in payloads.values())


def test_below_threshold_or_too_few_scores_raise_nothing(failing_store: Store) -> None:
    quiet = AlertRule(url="http://127.0.0.1:9/x", events=("failure_rate",), threshold=0.9)
    few = AlertRule(url="http://127.0.0.1:9/y", events=("failure_rate",), min_scores=100)
    monitor = AlertMonitor(failing_store, [quiet, few])
    assert monitor.find(quiet, dt.datetime.now()) == []
    assert monitor.find(few, dt.datetime.now()) == []


def test_delivery_retries_server_errors_then_stops(receiver: Receiver) -> None:
    receiver.statuses = [503, 500]
    rule = AlertRule(url=receiver.url)
    outcome = deliver(rule, {"text": "x"}, backoff_s=(0.0, 0.0, 0.0), sleep=lambda _: None)
    assert (outcome.ok, outcome.attempts, outcome.status) == (True, 3, 200)
    receiver.statuses = [400]
    refused = deliver(rule, {"text": "x"}, backoff_s=(0.0, 0.0), sleep=lambda _: None)
    assert (refused.ok, refused.attempts, refused.status) == (False, 1, 400)
    gone = deliver(
        AlertRule(url="http://127.0.0.1:9/none"),
        {"text": "x"},
        backoff_s=(0.0,),
        sleep=lambda _: None,
    )
    assert (gone.ok, gone.attempts, gone.status) == (False, 2, None)


def test_the_sender_never_blocks_the_caller(receiver: Receiver) -> None:
    sender = WebhookSender()
    sender.send(AlertRule(url=receiver.url), {"text": "queued"})
    sender.close()
    assert [json.loads(r["body"])["text"] for r in receiver.requests] == ["queued"]


def test_the_test_endpoint_reports_each_webhook(tmp_path: Path, receiver: Receiver) -> None:
    config = config_from_mapping(
        {"alerts": [{"url": receiver.url, "name": "team"}, {"url": "http://127.0.0.1:9/down"}]}
    )
    extension = EvalsExtension(config, online=False)
    with CollectorServer(
        CollectorConfig(db_path=tmp_path / "t.duckdb", port=0), extensions=[extension]
    ) as server:
        answer = httpx.post(f"{server.url}/api/alerts/test", timeout=30).json()
    ok, down = answer["deliveries"]
    assert (ok["rule"], ok["ok"], ok["status"]) == ("team", True, 200)
    assert down["ok"] is False and down["error"]
    assert json.loads(receiver.requests[0]["body"])["event"] == "test"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"url": "ftp://x"}, "http"),
        ({"url": "http://x", "events": ["boom"]}, "events"),
        ({"url": "http://x", "threshold": 2}, "threshold"),
        ({"url": "http://x", "secret_env": "LOOPWISE_NOT_SET_ANYWHERE"}, "not set"),
        ({"url": "http://x", "colour": "red"}, "unknown key"),
    ],
)
def test_bad_alert_config_is_a_clear_error(entry: dict[str, Any], message: str) -> None:
    from loopwise.evals import ConfigError

    with pytest.raises(ConfigError, match=message):
        config_from_mapping({"alerts": [entry]})


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"text": "x"}'
    digest = hmac.new(b"k", b"123." + body, hashlib.sha256).hexdigest()
    assert signature("k", "123", body) == f"sha256={digest}"
