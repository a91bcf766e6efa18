"""HTTP client for the collector's JSON API, the dashboard's only source of data.

Every failure becomes one of two exceptions with a message fit to show a person:
``CollectorUnavailable`` when nothing answers at the URL (refused, timed out, broken
connection), ``CollectorError`` when the collector answers 4xx/5xx or with a body that is
not the JSON it promises. Both derive from ``CollectorAPIError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

Record = dict[str, Any]
"""One JSON object from the API (a trace summary, a span, a health report)."""

DEFAULT_TIMEOUT_S = 5.0


class CollectorAPIError(Exception):
    """Base class of every error the dashboard's API client raises."""


class CollectorUnavailable(CollectorAPIError):
    """Nothing answered at the collector's URL (connection refused, timeout, reset)."""

    def __init__(self, base_url: str, reason: str) -> None:
        super().__init__(f"Collector at {base_url} is not reachable: {reason}")
        self.base_url = base_url
        self.reason = reason


class CollectorError(CollectorAPIError):
    """The collector answered with an error status or an unreadable body."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"Collector answered {status_code}: {message}")
        self.status_code = status_code
        self.message = message


@dataclass(frozen=True)
class TraceDetail:
    """Every span of one trace: flat in start order, and nested under their parents."""

    trace_id: str
    spans: list[Record]
    tree: list[Record]


@dataclass(frozen=True)
class SqlResult:
    """The answer to a read-only SQL query; ``truncated`` when the collector capped the rows."""

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool

    def records(self) -> list[Record]:
        """The rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row, strict=False)) for row in self.rows]


class CollectorAPI:
    """A synchronous client of one collector; use it as a context manager or call ``close``.

    >>> with CollectorAPI("http://127.0.0.1:4318") as api:
    ...     api.recent_traces(limit=20)
    """

    def __init__(
        self, base_url: str, api_key: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._timeout_s = timeout_s
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s)

    def health(self) -> Record:
        """The collector's health report: ``status``, ``version``, writer counters."""
        return _expect_object(self._request("GET", "/health"))

    def recent_traces(
        self, limit: int = 50, offset: int = 0, project: str | None = None
    ) -> list[Record]:
        """One summary per trace, newest first: ``limit`` rows after skipping ``offset``."""
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        if project:
            params["project"] = project
        payload = _expect_object(self._request("GET", "/api/traces", params=params))
        return _expect_records(payload.get("traces"), "traces")

    def trace(self, trace_id: str) -> TraceDetail:
        """All spans of one trace; ``CollectorError`` with status 404 when it is unknown."""
        path = f"/api/traces/{quote(trace_id, safe='')}"
        payload = _expect_object(self._request("GET", path))
        return TraceDetail(
            trace_id=str(payload.get("trace_id", trace_id)),
            spans=_expect_records(payload.get("spans"), "spans"),
            tree=_expect_records(payload.get("tree"), "tree"),
        )

    def sql(self, query: str) -> SqlResult:
        """Run one read-only SELECT on the collector's store."""
        payload = _expect_object(self._request("POST", "/api/sql", json={"sql": query}))
        columns = payload.get("columns")
        rows = payload.get("rows")
        if not isinstance(columns, list) or not isinstance(rows, list):
            raise CollectorError(200, "the SQL answer lacks its columns or rows")
        return SqlResult(
            columns=[str(c) for c in columns],
            rows=[list(r) for r in rows],
            truncated=bool(payload.get("truncated", False)),
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> CollectorAPI:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise CollectorUnavailable(
                self.base_url, f"no answer within {self._timeout_s:g} s"
            ) from None
        except httpx.ConnectError as exc:
            raise CollectorUnavailable(self.base_url, _connect_reason(exc)) from None
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            raise CollectorUnavailable(self.base_url, str(exc) or type(exc).__name__) from None
        return _decode(response)


def _connect_reason(exc: httpx.ConnectError) -> str:
    text = str(exc)
    if "refused" in text.lower():
        return "connection refused (is `loopwise collect` running?)"
    return text or "could not connect"


def _decode(response: httpx.Response) -> Any:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.is_error:
        message = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(message, str) or not message:
            message = response.reason_phrase or "error"
        raise CollectorError(response.status_code, message)
    if payload is None:
        raise CollectorError(response.status_code, "the answer is not JSON")
    return payload


def _expect_object(payload: Any) -> Record:
    if not isinstance(payload, dict):
        raise CollectorError(200, "expected a JSON object")
    return payload


def _expect_records(value: Any, name: str) -> list[Record]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise CollectorError(200, f"expected {name!r} to be a list of objects")
    return value
