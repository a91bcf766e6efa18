"""``loopwise.feedback``: end-user feedback delivered in the background.

The application calls ``feedback(trace_id, "thumbs", True)`` from a request handler; the
call checks the feedback, queues it and returns at once. One daemon thread delivers the
queue: over HTTP to the collector's ``POST /api/feedback`` (with the client's API key), into
the DuckDB file in local mode, or to a testing exporter. While the destination is away,
feedback is spooled to disk as JSON files and re-sent, oldest first, when it answers again.
Nothing here raises into the application: bad feedback is dropped with a warning.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..credentials import auth_headers
from ..store.feedback import UserFeedbackError, parse_feedback, record_feedback

if TYPE_CHECKING:
    from ..client import CollectorClient

log = logging.getLogger("loopwise.sdk")

Payload = dict[str, Any]
DEFAULT_MAX_QUEUE = 10_000
DEFAULT_MAX_SPOOL_FILES = 100_000


class Delivery(enum.Enum):
    """What became of one delivery attempt."""

    DONE = "done"  # stored, or refused for good (bad input): never retried
    RETRY = "retry"  # the destination is away: spool and try again later


class FeedbackSink(Protocol):
    """Where feedback goes."""

    def deliver(self, payload: Payload) -> Delivery:
        """Deliver one checked payload."""
        ...


class HttpFeedbackSink:
    """Posts feedback to a collector's ``POST /api/feedback`` through one pooled
    ``CollectorClient`` (created on the first delivery, so importing the SDK loads no HTTP
    stack). Retrying is the delivery queue's job, so the client itself never retries."""

    def __init__(
        self, endpoint: str, *, headers: Mapping[str, str] | None = None, timeout_s: float = 2.0
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.url = self.endpoint + "/api/feedback"
        self._headers = dict(headers or {})
        self._timeout_s = timeout_s
        self._client: CollectorClient | None = None

    def deliver(self, payload: Payload) -> Delivery:
        """POST one payload; 4xx other than 408/429 means it will never be accepted."""
        from ..client import CollectorClient, CollectorUnreachable

        if self._client is None:
            self._client = CollectorClient(
                self.endpoint, headers=self._headers, timeout_s=self._timeout_s, retries=0
            )
        try:
            response = self._client.send("POST", "/api/feedback", json=payload)
        except CollectorUnreachable:
            return Delivery.RETRY
        status = response.status_code
        if 200 <= status < 300:
            return Delivery.DONE
        if 400 <= status < 500 and status not in (408, 429):
            log.warning("collector refused feedback (%s): %s", status, response.text[:200])
            return Delivery.DONE
        return Delivery.RETRY


class LocalFeedbackSink:
    """Writes feedback straight into a DuckDB file (local mode, no collector)."""

    def __init__(self, db_path: Path, *, project: str) -> None:
        self.db_path = db_path
        self._project = project

    def deliver(self, payload: Payload) -> Delivery:
        """Append one score; RETRY while another process holds the file."""
        from ..store.store import Store, StoreError

        try:
            checked = parse_feedback(payload)
            with Store(self.db_path) as store:
                record_feedback(store, checked, default_project=self._project)
        except StoreError:
            return Delivery.RETRY
        except Exception:
            log.warning("could not write feedback to %s", self.db_path, exc_info=True)
        return Delivery.DONE


class CallbackFeedbackSink:
    """Hands feedback to a function (a testing exporter's ``export_feedback``)."""

    def __init__(self, callback: Callable[[Payload], object]) -> None:
        self._callback = callback

    def deliver(self, payload: Payload) -> Delivery:
        """Call the function once."""
        try:
            self._callback(payload)
        except Exception:
            log.warning("feedback callback failed", exc_info=True)
        return Delivery.DONE


_STOP = object()


class FeedbackSender:
    """Checks feedback, queues it, and delivers it on a daemon thread.

    ``sink`` None drops feedback (the client was not initialized). With a ``spool_dir``,
    feedback the sink cannot take now is written there and retried every
    ``retry_interval_s``; without one it is dropped with a warning.
    """

    def __init__(
        self,
        sink: FeedbackSink | None,
        *,
        project: str = "default",
        spool_dir: Path | None = None,
        retry_interval_s: float = 5.0,
        max_queue: int = DEFAULT_MAX_QUEUE,
    ) -> None:
        self._sink = sink
        self._project = project
        self.spool_dir = spool_dir
        self._retry_interval_s = retry_interval_s
        self._queue: queue.Queue[object] = queue.Queue(max_queue)
        self._pending = 0
        self._idle = threading.Condition()
        self._away = False
        self._last_retry = 0.0
        self._closed = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._spool_lock = threading.Lock()  # one re-send at a time: no feedback sent twice

    def send(
        self,
        trace_id: str | int,
        name: str,
        value: bool | float | str,
        comment: str | None = None,
        *,
        user_id: str | None = None,
        span_id: str | int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Check and queue one piece of feedback; never raises, never waits."""
        try:
            payload: Payload = {
                "trace_id": f"{trace_id:032x}" if isinstance(trace_id, int) else trace_id,
                "name": name,
                "value": value,
                "comment": comment,
                "user_id": user_id,
                "span_id": f"{span_id:016x}" if isinstance(span_id, int) else span_id,
                "metadata": dict(metadata) if metadata is not None else None,
                "project": self._project,
            }
            parse_feedback(payload)
            payload = {k: v for k, v in payload.items() if v is not None}
            self._enqueue(payload)
        except UserFeedbackError as exc:
            log.warning("feedback dropped: %s", exc)
        except Exception:
            log.warning("feedback dropped", exc_info=True)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued piece was delivered or spooled; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def deliver_spool(self) -> int:
        """Re-send spooled feedback now, oldest first; return how many were delivered."""
        delivered = 0
        with self._spool_lock:
            for path in self.spooled_files():
                try:
                    payload = json.loads(path.read_text())
                except (OSError, ValueError):
                    path.unlink(missing_ok=True)
                    continue
                if self._sink is None or self._sink.deliver(payload) is Delivery.RETRY:
                    self._away = True
                    return delivered
                path.unlink(missing_ok=True)
                delivered += 1
            self._away = False
        return delivered

    def spooled_files(self) -> list[Path]:
        """Spooled feedback files, oldest first."""
        if self.spool_dir is None:
            return []
        try:
            return sorted(self.spool_dir.glob("*.json"))
        except OSError:
            return []

    def close(self, timeout_s: float = 2.0) -> None:
        """Deliver what is queued (for up to ``timeout_s``), spool the rest, stop the thread."""
        with self._start_lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is None:
            return
        with contextlib.suppress(queue.Full):
            self._queue.put(_STOP, timeout=timeout_s)
        thread.join(timeout_s)
        while True:  # whatever the thread did not reach goes to the spool
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, dict):
                self._spool(item)
                self._done()

    def _enqueue(self, payload: Payload) -> None:
        if self._sink is None:
            log.debug("feedback dropped: call loopwise.init first")
            return
        with self._start_lock:
            if self._closed:
                log.debug("feedback dropped: the client was shut down")
                return
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="loopwise-feedback", daemon=True
                )
                self._thread.start()
        with self._idle:
            self._pending += 1
        try:
            self._queue.put_nowait(payload)
        except queue.Full:
            self._done()
            log.warning("feedback queue is full; dropping feedback on %s", payload["trace_id"])

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self._retry_interval_s)
            except queue.Empty:
                item = None
            if item is _STOP:
                return
            if isinstance(item, dict):
                try:
                    self._deliver_or_spool(item)
                finally:
                    self._done()
            self._retry_if_due()

    def _deliver_or_spool(self, payload: Payload) -> None:
        assert self._sink is not None
        if not self._away:
            try:
                outcome = self._sink.deliver(payload)
            except Exception:
                log.warning("feedback delivery failed", exc_info=True)
                outcome = Delivery.RETRY
            if outcome is Delivery.DONE:
                return
            self._away = True
            self._last_retry = time.monotonic()
        self._spool(payload)

    def _retry_if_due(self) -> None:
        if not self._away or time.monotonic() - self._last_retry < self._retry_interval_s:
            return
        self._last_retry = time.monotonic()
        try:
            self.deliver_spool()
        except Exception:
            log.debug("re-sending spooled feedback failed", exc_info=True)

    def _spool(self, payload: Payload) -> None:
        if self.spool_dir is None:
            log.warning("feedback on %s could not be delivered; dropped", payload["trace_id"])
            return
        try:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            if len(self.spooled_files()) >= DEFAULT_MAX_SPOOL_FILES:
                log.warning("feedback spool %s is full; dropping feedback", self.spool_dir)
                return
            name = f"{time.time_ns():020d}-{os.getpid()}-{threading.get_ident() % 100000}"
            tmp = self.spool_dir / f"{name}.tmp"
            tmp.write_text(json.dumps(payload))
            tmp.rename(self.spool_dir / f"{name}.json")
        except OSError:
            log.warning("cannot spool feedback to %s; dropped", self.spool_dir, exc_info=True)

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            if not self._pending:
                self._idle.notify_all()


def feedback_sender(
    project: str,
    *,
    endpoint: str | None,
    local_db: Path | None,
    api_key: str | None,
    exporter: object | None,
    spool_dir: Path,
) -> FeedbackSender:
    """The sender for ``Client.init``'s settings: the collector at ``endpoint``, the file
    ``local_db`` in local mode, or, with a custom ``exporter`` and no explicit endpoint,
    the exporter's ``export_feedback`` (dropped when it has none)."""
    if local_db is not None:
        sink: FeedbackSink | None = LocalFeedbackSink(local_db, project=project)
    elif endpoint is not None:
        sink = HttpFeedbackSink(endpoint, headers=auth_headers(api_key))
    else:
        export_feedback = getattr(exporter, "export_feedback", None)
        sink = CallbackFeedbackSink(export_feedback) if callable(export_feedback) else None
        return FeedbackSender(sink, project=project)
    return FeedbackSender(sink, project=project, spool_dir=spool_dir)
