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

from loopwise.collector.client import CollectorClient, query_text
from loopwise.collector.server.responses import json_response
from loopwise.collector.store import Store

from .errors import NotFound, error_for_status
from .operations import Call, all_operations, match


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
        """Run the operation on the file: its query and body validated by the operation's
        models, as the API validates them (the same 400 message for the same bad input); the
        answer is round-tripped through JSON so it is exactly what the API would send."""
        found = match(self._operations, method, path)
        if found is None:
            raise NotFound(f"no operation {method} {path}")
        operation, params = found
        call = Call({k: unquote(v) for k, v in params.items()}, query_text(query), body)
        result = operation(self.store, call)  # checked as the HTTP route checks it
        return json.loads(bytes(json_response(result).body))

    def close(self) -> None:
        """Close the file if this backend opened it."""
        if self._owned:
            self.store.close()


class HttpBackend(Backend):
    """The operations through a collector's HTTP API (the one collector client: auth, safe
    retries; an error answer raises the FeedbackError of its status, ``CollectorUnreachable``
    when nothing answers)."""

    def __init__(self, endpoint: str, api_key: str | None = None, timeout_s: float = 60.0) -> None:
        self._client = CollectorClient(
            endpoint, api_key, timeout_s=timeout_s, errors=error_for_status
        )
        self.endpoint = self._client.endpoint

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """Send the request; a non-2xx answer raises the matching FeedbackError."""
        json_body = body if method.upper() == "POST" else None
        return self._client.call(method, path, params=query, json=json_body)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
