"""The one client of a collector's HTTP API: authentication, timeouts, safe retries and the
error mapping, used by the CLI, the dashboard, the feedback and suite-run backends and the
SDK's prompt fetcher.

Every failure is one of the API's own errors (``collector.api_errors``), the same classes the
server answers from: an error reply becomes the class of its status carrying the server's
message and details, ``CollectorUnreachable`` (a 503) means nothing answered, ``RouteMissing``
(a 404) means the collector has no such route at all (an older collector, or one without the
extension), and ``BadReply`` (a 502) an answer that is not the JSON promised.

Retries: a connection that could not be opened is retried for every method (nothing was
sent); a connection dropped mid-answer and a 502/503/504 only for idempotent methods, after
``Retry-After`` when the server names it. A request that timed out is not repeated: a slow
collector is not made faster by asking it twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import httpx

from .api_errors import ApiError, NotFound, Unavailable, error_for_status
from .credentials import auth_headers

__all__ = [
    "BadReply",
    "CollectorClient",
    "CollectorUnreachable",
    "RouteMissing",
    "auth_headers",
    "query_text",
]

DEFAULT_TIMEOUT_S = 30.0
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRIED_STATUSES = frozenset({502, 503, 504})
MAX_RETRY_AFTER_S = 5.0

# Builds the error an answered status stands for: ``api_errors.error_for_status``, or a
# package's own subclasses of the same family (the feedback backend's).
ErrorFactory = Callable[[int, str, Mapping[str, Any]], ApiError]


class CollectorUnreachable(Unavailable):
    """Nothing answered at the collector's URL (refused, timed out, connection broken)."""

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(f"collector at {endpoint} is not reachable: {reason}")
        self.endpoint = endpoint
        self.reason = reason


class RouteMissing(NotFound):
    """The collector has no route at this path (a plain 404, not a JSON "no such item")."""

    def __init__(self, path: str) -> None:
        super().__init__(f"this collector has no {path} endpoint")
        self.path = path


class BadReply(ApiError):
    """The collector answered, but not with the JSON its API promises (HTTP 502)."""

    status = 502


class CollectorClient:
    """A pooled client of one collector; use it as a context manager or call ``close``.

    >>> with CollectorClient("http://127.0.0.1:4318", api_key) as client:
    ...     client.call("GET", "/api/traces", params={"limit": 20})
    """

    def __init__(
        self,
        endpoint: str,
        api_key: str | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retries: int = 2,
        backoff_s: float = 0.2,
        headers: Mapping[str, str] | None = None,
        errors: ErrorFactory = error_for_status,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._errors = errors
        self.timeout_s = timeout_s
        self.retries = max(0, retries)
        self._backoff_s = backoff_s
        sent = {"Accept": "application/json", **auth_headers(api_key), **(headers or {})}
        self._http = httpx.Client(base_url=self.endpoint, headers=sent, timeout=timeout_s)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        timeout_s: float | None = None,
    ) -> Any:
        """Send one request and return its decoded JSON answer; raises the API's errors."""
        response = self.send(method, path, params=params, json=json, timeout_s=timeout_s)
        return decode(response, self._errors)

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        timeout_s: float | None = None,
    ) -> httpx.Response:
        """Send one request, retried where that is safe; the raw answer, whatever its status.
        Raises ``CollectorUnreachable`` when nothing answered."""
        method = method.upper()
        request = self._http.build_request(
            method,
            path,
            params=query_text(params),
            json=json,
            timeout=self.timeout_s if timeout_s is None else timeout_s,
        )
        return self._send(request, stream=False)

    @contextmanager
    def stream(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None
    ) -> Iterator[httpx.Response]:
        """The answer to one request as a stream (for exports); an error answer raises."""
        request = self._http.build_request(method.upper(), path, params=query_text(params))
        response = self._send(request, stream=True)
        try:
            if response.is_error:
                response.read()
                decode(response, self._errors)
            yield response
        except httpx.HTTPError as exc:
            raise CollectorUnreachable(self.endpoint, _reason(exc, request)) from None
        finally:
            response.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> CollectorClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        idempotent = request.method in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            try:
                response = self._http.send(request, stream=stream)
            except httpx.ConnectError as exc:
                retry = attempt < self.retries  # the request never left: safe for any method
                failure: httpx.HTTPError = exc
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                retry = idempotent and attempt < self.retries
                failure = exc
            except (httpx.TransportError, httpx.InvalidURL) as exc:
                raise CollectorUnreachable(self.endpoint, _reason(exc, request)) from None
            else:
                if not (
                    idempotent
                    and response.status_code in RETRIED_STATUSES
                    and attempt < self.retries
                ):
                    return response
                delay = _retry_after(response) or self._backoff_s * 2**attempt
                response.close()
                time.sleep(delay)
                attempt += 1
                continue
            if not retry:
                raise CollectorUnreachable(self.endpoint, _reason(failure, request))
            time.sleep(self._backoff_s * 2**attempt)
            attempt += 1


def decode(response: httpx.Response, errors: ErrorFactory = error_for_status) -> Any:
    """The JSON of a success answer; the API error (built by ``errors``) of an error answer."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status_code == 404 and _route_missing(payload):
        raise RouteMissing(response.request.url.path)
    if response.is_error:
        if isinstance(payload, dict) and isinstance(payload.get("error"), str):
            details = {k: v for k, v in payload.items() if k != "error"}
            raise errors(response.status_code, payload["error"], details)
        reason = response.reason_phrase or "error"
        raise errors(
            response.status_code, f"collector answered {response.status_code} {reason}", {}
        )
    if payload is None:
        raise BadReply(f"collector answered {response.status_code} without JSON")
    return payload


def query_text(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Query parameters as the text a request carries, without the ones that are None (the
    route's default); ``LocalBackend`` hands its operations the same."""
    return {k: str(v) for k, v in (params or {}).items() if v is not None}


def _route_missing(payload: Any) -> bool:
    """A 404 about the path itself: a plain-text body (older collectors) or the collector's
    ``no such endpoint`` error, as opposed to a JSON 404 about one missing item."""
    if not isinstance(payload, dict):
        return True
    message = payload.get("error")
    return isinstance(message, str) and message.startswith("no such endpoint")


def _retry_after(response: httpx.Response) -> float | None:
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _reason(exc: Exception, request: httpx.Request) -> str:
    if isinstance(exc, httpx.TimeoutException):
        waited = request.extensions.get("timeout", {}).get("read")
        return f"no answer within {waited:g} s" if waited else "no answer in time"
    text = str(exc)
    if isinstance(exc, httpx.ConnectError) and "refused" in text.lower():
        return "connection refused (is `loopwise collect` running?)"
    return text or type(exc).__name__
