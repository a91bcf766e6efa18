"""Admission control for OTLP requests: bound the bytes and requests being worked on at once.

Counting only rows waiting for the writer let 32 clients posting 4 MB bodies queue seconds of
work (4.8 s acks, slow reads) without ever hearing "slow down". The receiver instead admits a
request only while the bytes it is reading, decoding and writing stay under a budget, and
answers 503 with Retry-After at once otherwise, before latency grows. One request is always
admitted when nothing else is in flight, so a body under the size limit can always get through.
"""

from __future__ import annotations

import threading

DEFAULT_MAX_INFLIGHT_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_INFLIGHT_REQUESTS = 64


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
    ) -> None:
        self.max_bytes = max_bytes
        self.max_requests = max_requests
        self._lock = threading.Lock()
        self._bytes = 0
        self._requests = 0
        self.refused = 0

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
            self._requests += 1
        return Ticket(self)

    def _add(self, ticket: Ticket, size: int) -> None:
        with self._lock:
            alone = self._requests == 1 and self._bytes == ticket.size
            if not alone and self._bytes + size > self.max_bytes:
                self.refused += 1
                raise Overloaded(
                    f"{self._bytes // (1024 * 1024)} MiB of requests are in flight; retry shortly"
                )
            self._bytes += size
            ticket.size += size

    def _leave(self, ticket: Ticket) -> None:
        with self._lock:
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

    def close(self) -> None:
        """Release what this request held (idempotent)."""
        if self._open:
            self._open = False
            self._admission._leave(self)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
