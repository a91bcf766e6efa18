"""Reaching the feedback operations from a client (the CLI, notebooks, CI): through a running
collector's API (``HttpBackend``) or straight on a DuckDB file when no collector owns it
(``LocalBackend``). Both answer with the same JSON data and raise the same errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote

import httpx

from loopwise.collector.server.responses import json_response
from loopwise.collector.store import Store

from .errors import FeedbackError, NotFound, error_for_status
from .operations import Call, all_operations, match


class BackendUnavailable(FeedbackError):
    """The collector could not be reached."""

    status = 503


class Backend:
    """Calls feedback operations: ``backend.call("GET", "/api/reviews", query={...})``."""

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """Run one operation and return its JSON answer; raises FeedbackError subclasses."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the connection or the file."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _clean_query(query: Mapping[str, Any] | None) -> dict[str, str]:
    return {k: str(v) for k, v in (query or {}).items() if v is not None}


class LocalBackend(Backend):
    """The operations run in this process on a DuckDB file (opened read-write, so only while
    no collector owns it)."""

    def __init__(self, db: Path | str | Store) -> None:
        self.store = db if isinstance(db, Store) else Store(db)
        self._owned = not isinstance(db, Store)
        self._operations = all_operations()

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """Run the operation on the file; the answer is round-tripped through JSON so it is
        exactly what the API would send."""
        found = match(self._operations, method, path)
        if found is None:
            raise NotFound(f"no operation {method} {path}")
        operation, params = found
        call = Call({k: unquote(v) for k, v in params.items()}, _clean_query(query), body)
        result = operation.handler(self.store, call)
        return json.loads(bytes(json_response(result).body))

    def close(self) -> None:
        """Close the file if this backend opened it."""
        if self._owned:
            self.store.close()


class HttpBackend(Backend):
    """The operations through a collector's HTTP API."""

    def __init__(self, endpoint: str, api_key: str | None = None, timeout_s: float = 60.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=self.endpoint, headers=headers, timeout=timeout_s)

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """Send the request; a non-2xx answer raises the matching FeedbackError."""
        try:
            response = self._http.request(
                method, path, params=_clean_query(query), json=body if method == "POST" else None
            )
        except httpx.HTTPError as exc:
            raise BackendUnavailable(
                f"collector at {self.endpoint} is not reachable: {exc}"
            ) from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code >= 400:
            if isinstance(payload, dict) and isinstance(payload.get("error"), str):
                details = {k: v for k, v in payload.items() if k != "error"}
                raise error_for_status(response.status_code, payload["error"], details)
            hint = " (is the feedback extension loaded?)" if response.status_code == 404 else ""
            raise error_for_status(
                response.status_code, f"collector answered {response.status_code}{hint}", {}
            )
        if payload is None:
            raise FeedbackError(f"collector answered {response.status_code} without JSON")
        return payload

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()
