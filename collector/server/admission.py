"""Admission control for OTLP requests: bound the bytes and requests being worked on at once.

Counting only rows waiting for the writer let 32 clients posting 4 MB bodies queue seconds of
work (4.8 s acks, slow reads) without ever hearing "slow down". The receiver instead admits a
request only while the bytes it is reading, decoding and writing stay under a budget, and
answers 503 with Retry-After at once otherwise, before latency grows. One request is always
admitted when nothing else is in flight, so a body under the size limit can always get through.

A fixed byte budget is still the wrong size on most machines: 32 MiB is a 4 s queue where the
collector processes 8 MB/s and a few milliseconds where it processes 1 GB/s. So the budget
follows the measured drain rate: bytes answered per second of busy time (time with a request
in flight), decayed over ``RATE_HALF_LIFE_S`` of busy time. The budget is what drains in
``target_drain_s`` at that rate, between ``min_bytes`` and ``max_bytes``; until enough work
has been measured it is ``max_bytes``. A request admitted under the budget therefore waits
about ``target_drain_s`` at most for the work ahead of it; past it, a client hears "retry" at
once.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

DEFAULT_MAX_INFLIGHT_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_INFLIGHT_REQUESTS = 64
DEFAULT_TARGET_DRAIN_S = 1.0
MIN_INFLIGHT_BYTES = 4 * 1024 * 1024
RATE_HALF_LIFE_S = 10.0
MIN_MEASURED_BYTES = 1024 * 1024
"""The drain rate is trusted once this much work has been measured."""


class Overloaded(Exception):
    """Too much work is in flight; the client should retry after ``retry_after_s``."""

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Admission:
    """Counts the requests and bytes in flight against two budgets (thread-safe)."""

    def __init__(
        self,
        max_bytes: int = DEFAULT_MAX_INFLIGHT_BYTES,
        max_requests: int = DEFAULT_MAX_INFLIGHT_REQUESTS,
        target_drain_s: float | None = DEFAULT_TARGET_DRAIN_S,
        *,
        min_bytes: int = MIN_INFLIGHT_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_requests = max_requests
        self.target_drain_s = target_drain_s
        self.min_bytes = min(min_bytes, max_bytes)
        self._clock = clock
        self._lock = threading.Lock()
        self._bytes = 0
        self._requests = 0
        self.refused = 0
        self._drained_bytes = 0.0
        self._busy_s = 0.0
        self._mark = clock()

    @property
    def drain_rate(self) -> float | None:
        """Measured bytes answered per busy second (decayed), or None before enough work."""
        with self._lock:
            return self._rate()

    @property
    def budget_bytes(self) -> int:
        """The byte budget now: what drains in ``target_drain_s`` at the measured rate,
        between ``min_bytes`` and ``max_bytes`` (``max_bytes`` when not adaptive)."""
        with self._lock:
            return self._budget()

    def _rate(self) -> float | None:
        if self._drained_bytes < MIN_MEASURED_BYTES or self._busy_s <= 0:
            return None
        return self._drained_bytes / self._busy_s

    def _budget(self) -> int:
        rate = self._rate()
        if self.target_drain_s is None or rate is None:
            return self.max_bytes
        return int(min(self.max_bytes, max(self.min_bytes, rate * self.target_drain_s)))

    def _advance(self) -> None:
        """Account busy time since the last mark and decay the history by it (under the lock).

        History decays with busy time, not wall time: an idle hour neither forgets the
        measured rate nor makes the collector look slower.
        """
        now = self._clock()
        busy = max(0.0, now - self._mark) if self._requests else 0.0
        self._mark = now
        decay = math.exp(-busy * math.log(2) / RATE_HALF_LIFE_S)
        self._drained_bytes *= decay
        self._busy_s = self._busy_s * decay + busy

    @property
    def inflight_bytes(self) -> int:
        """Bytes of admitted requests not yet answered."""
        return self._bytes

    @property
    def inflight_requests(self) -> int:
        """Admitted requests not yet answered."""
        return self._requests

    def enter(self) -> Ticket:
        """Admit one more request (its bytes are added as they arrive), or raise Overloaded."""
        with self._lock:
            if self._requests >= self.max_requests:
                self.refused += 1
                raise Overloaded(f"{self._requests} requests are in flight; retry shortly")
            self._advance()
            self._requests += 1
        return Ticket(self)

    def _add(self, ticket: Ticket, size: int) -> None:
        with self._lock:
            alone = self._requests == 1 and self._bytes == ticket.size
            if not alone and self._bytes + size > self._budget():
                self.refused += 1
                raise Overloaded(
                    f"{self._bytes / (1024 * 1024):.1f} MiB of requests are in flight; "
                    "retry shortly"
                )
            self._bytes += size
            ticket.size += size

    def _leave(self, ticket: Ticket, *, answered: bool) -> None:
        with self._lock:
            self._advance()
            if answered:
                self._drained_bytes += ticket.size
            self._bytes -= ticket.size
            self._requests -= 1
            ticket.size = 0


class Ticket:
    """One admitted request: ``add`` its bytes as they are read, ``close`` when answered."""

    def __init__(self, admission: Admission) -> None:
        self._admission = admission
        self.size = 0
        self._open = True

    def add(self, size: int) -> None:
        """Count ``size`` more bytes of this request, or raise Overloaded."""
        self._admission._add(self, size)

    def close(self, *, answered: bool = True) -> None:
        """Release what this request held (idempotent). ``answered``: its work was done, so
        its bytes count toward the measured drain rate (a refused or failed one's do not)."""
        if self._open:
            self._open = False
            self._admission._leave(self, answered=answered)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.close(answered=kind is None)
