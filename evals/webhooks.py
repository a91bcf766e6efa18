"""Delivering alerts to webhooks: signed, retried, off the caller's thread.

Each POST carries the JSON payload (a Slack-compatible ``text`` plus structured fields) and,
when the rule has a secret, ``X-Loopwise-Timestamp`` and ``X-Loopwise-Signature: sha256=HEX``,
the HMAC-SHA256 of ``timestamp + "." + body``: a receiver recomputes it and rejects old
timestamps, so a captured request cannot be replayed later. Network errors, 5xx and 429 are
retried with backoff (honouring Retry-After, at most 30 s); other answers are final.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from .alert_config import AlertRule

log = logging.getLogger(__name__)

BACKOFF_S = (1.0, 2.0, 4.0)
MAX_RETRY_AFTER_S = 30.0


@dataclass(frozen=True)
class Delivery:
    """How one delivery went: the last HTTP status (None: no answer), attempts, error."""

    rule: str
    status: int | None
    attempts: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the webhook answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=HEX``: the HMAC-SHA256 of ``timestamp.body`` under ``secret``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def deliver(
    rule: AlertRule,
    payload: dict[str, Any],
    *,
    timeout_s: float = 5.0,
    backoff_s: tuple[float, ...] = BACKOFF_S,
    sleep: Any = time.sleep,
) -> Delivery:
    """POST ``payload`` to the rule's URL now, retrying what may succeed later."""
    body = json.dumps(payload, ensure_ascii=False, default=str).encode()
    status: int | None = None
    error: str | None = None
    attempts = 0
    with httpx.Client(timeout=timeout_s) as http:
        for wait in (0.0, *backoff_s):
            if wait:
                sleep(wait)
            attempts += 1
            headers = {"Content-Type": "application/json", "User-Agent": "loopwise-alerts"}
            if rule.secret:
                stamp = str(int(time.time()))
                headers["X-Loopwise-Timestamp"] = stamp
                headers["X-Loopwise-Signature"] = signature(rule.secret, stamp, body)
            try:
                answer = http.post(rule.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
                continue
            status, error = answer.status_code, None
            if answer.status_code < 500 and answer.status_code != 429:
                break
            error = f"webhook answered {answer.status_code}"
            retry_after = answer.headers.get("retry-after", "")
            if retry_after.isdigit():
                sleep(min(float(retry_after), MAX_RETRY_AFTER_S))
    return Delivery(rule.key, status, attempts, error)


class WebhookSender:
    """Delivers queued alerts on one background thread, so scoring never waits on a webhook."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[AlertRule, dict[str, Any]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.deliveries: list[Delivery] = []

    def send(self, rule: AlertRule, payload: dict[str, Any]) -> None:
        """Queue one alert (starts the thread on first use)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="loopwise-alerts", daemon=True)
            self._thread.start()
        self._queue.put((rule, payload))

    def close(self, timeout_s: float = 10.0) -> None:
        """Deliver what is queued (up to ``timeout_s``), then stop."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            rule, payload = job
            try:
                outcome = deliver(rule, payload)
            except Exception as exc:  # a broken alert must not kill the sender
                outcome = Delivery(rule.key, None, 0, f"{type(exc).__name__}: {exc}")
            self.deliveries = [*self.deliveries[-99:], outcome]
            if not outcome.ok:
                log.warning(
                    "alert to %s failed after %d attempts: %s",
                    rule.key,
                    outcome.attempts,
                    outcome.error,
                )
