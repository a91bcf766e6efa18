"""``loopwise.hold``: stop an output at the exception path and wait for a person's decision.

``hold()`` opens a review item in the ``held`` state (first in the queue) carrying the output,
its input and the check that failed, linked to the current trace. ``ticket.wait()`` long-polls
the collector until a reviewer approves, corrects or rejects it (dashboard, CLI or API) and
returns the decision; it survives a collector restart (it keeps asking, and the item lives in
the store) and a timeout returns a decision (``action="timeout"``), never an exception. Nothing
here raises into the application: an unreachable collector is retried until the deadline.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from opentelemetry import trace

from loopwise.collector.credentials import auth_headers

if TYPE_CHECKING:
    import httpx

    from loopwise.collector.sdk import Client

    from .check import CheckResult

log = logging.getLogger(__name__)

Action = Literal["approved", "corrected", "rejected", "timeout"]
DEFAULT_WAIT_S = 300.0
POLL_S = 25.0
RETRY_S = (0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True)
class Decision:
    """A person's decision on a held output (or ``timeout``): ``output`` is the approved or
    corrected text, None when rejected or undecided."""

    action: Action
    output: str | None
    item_id: str | None
    decided_by: str | None = None
    comment: str | None = None

    @property
    def released(self) -> bool:
        """True when the output may be used (approved as is, or corrected)."""
        return self.action in ("approved", "corrected")


class Ticket:
    """One held output; ``wait()`` or ``await wait_async()`` for the decision."""

    def __init__(self, endpoint: str | None, api_key: str | None, payload: dict[str, Any]) -> None:
        self._endpoint = endpoint.rstrip("/") if endpoint else None
        self._headers = auth_headers(api_key)
        self._payload = payload
        self.item_id: str | None = None

    @property
    def hold_id(self) -> str:
        """The id that makes holding idempotent (a retry finds the same review item)."""
        return str(self._payload["hold_id"])

    def _open(self, http: httpx.Client) -> None:
        if self.item_id is None and self._endpoint:
            answer = http.post(f"{self._endpoint}/api/reviews/held", json=self._payload)
            self._opened(answer)

    async def _open_async(self, http: httpx.AsyncClient) -> None:
        if self.item_id is None and self._endpoint:
            answer = await http.post(f"{self._endpoint}/api/reviews/held", json=self._payload)
            self._opened(answer)

    def _opened(self, answer: httpx.Response) -> None:
        self._give_up_on_refusal(answer)
        answer.raise_for_status()
        self.item_id = str(answer.json()["item_id"])

    def _give_up_on_refusal(self, answer: httpx.Response) -> None:
        """A 4xx (bad input, wrong key, item deleted) will not change by retrying: stop, and
        let the wait end as a timeout."""
        if 400 <= answer.status_code < 500 and answer.status_code not in (408, 429):
            log.warning(
                "the collector refused the held output (%s): %s", answer.status_code, answer.text
            )
            self._endpoint = None
            answer.raise_for_status()

    def wait(self, timeout: float = DEFAULT_WAIT_S) -> Decision:
        """Block until a person decides or ``timeout`` seconds pass."""
        import httpx

        deadline = time.monotonic() + max(timeout, 0.0)
        attempt = 0
        with httpx.Client(headers=self._headers, timeout=POLL_S + 10) as http:
            while self._endpoint:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    self._open(http)
                    answer = http.get(
                        f"{self._endpoint}/api/reviews/{self.item_id}/decision",
                        params={"wait": f"{min(left, POLL_S):.1f}"},
                    )
                    decided = self._decided(answer)
                    if decided is not None:
                        return decided
                    attempt = 0
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    log.debug("waiting for review item %s: %s", self.item_id, exc)
                    time.sleep(min(RETRY_S[min(attempt, len(RETRY_S) - 1)], max(left, 0)))
                    attempt += 1
        return Decision("timeout", None, self.item_id)

    async def wait_async(self, timeout: float = DEFAULT_WAIT_S) -> Decision:
        """``wait`` for asyncio applications (does not block the event loop)."""
        import asyncio

        import httpx

        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        attempt = 0
        async with httpx.AsyncClient(headers=self._headers, timeout=POLL_S + 10) as http:
            while self._endpoint:
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    await self._open_async(http)
                    answer = await http.get(
                        f"{self._endpoint}/api/reviews/{self.item_id}/decision",
                        params={"wait": f"{min(left, POLL_S):.1f}"},
                    )
                    decided = self._decided(answer)
                    if decided is not None:
                        return decided
                    attempt = 0
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    log.debug("waiting for review item %s: %s", self.item_id, exc)
                    await asyncio.sleep(min(RETRY_S[min(attempt, len(RETRY_S) - 1)], max(left, 0)))
                    attempt += 1
        return Decision("timeout", None, self.item_id)

    def _decided(self, answer: httpx.Response) -> Decision | None:
        self._give_up_on_refusal(answer)
        answer.raise_for_status()
        body = answer.json()
        action = body.get("action")
        if action not in ("approved", "corrected", "rejected"):
            return None
        return Decision(
            action=action,
            output=body.get("output"),
            item_id=self.item_id,
            decided_by=body.get("decided_by"),
            comment=body.get("comment"),
        )


def hold(
    *,
    output: Any,
    input: Any = None,
    reason: str | None = None,
    check: CheckResult | None = None,
    client: Client | None = None,
    hold_id: str | None = None,
) -> Ticket:
    """Hold ``output`` for a person and return the ticket to wait on.

    The review item is opened now when the collector answers within a second, and otherwise
    by ``wait()``, which keeps trying until its deadline. Without a collector (local mode or a
    custom exporter) ``wait()`` returns ``timeout`` at once: nobody could review it.
    """
    try:
        chosen = client or _default_client()
        current = trace.get_current_span().get_span_context()
        payload: dict[str, Any] = {
            "hold_id": hold_id or uuid.uuid4().hex,
            "project": chosen.project,
            "trace_id": format(current.trace_id, "032x") if current.is_valid else uuid.uuid4().hex,
            "span_id": format(current.span_id, "016x") if current.is_valid else None,
            "output": _text(output),
            "input": _text(input),
            "reason": reason or (", ".join(check.failed) if check and check.failed else None),
            "check": check.to_dict() if check else None,
        }
        ticket = Ticket(chosen.endpoint, chosen.api_key, payload)
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("loopwise.hold.id", ticket.hold_id)
        if chosen.endpoint:
            import httpx

            try:
                with httpx.Client(headers=ticket._headers, timeout=1.0) as http:
                    ticket._open(http)  # a quick first try; wait() retries
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                log.info("collector not reachable to hold the output yet (%s); wait() retries", exc)
        return ticket
    except Exception as exc:  # never raise into the application
        log.warning("loopwise.hold could not prepare the hold: %s", exc)
        return Ticket(None, None, {"hold_id": hold_id or uuid.uuid4().hex})


def _default_client() -> Client:
    import loopwise

    return loopwise.default_client()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)
