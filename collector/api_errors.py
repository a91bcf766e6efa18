"""The one exception family of the HTTP boundary: every error carries the status it is
answered with, on the server (``collector.server.errors`` maps it once) and on the client
(``collector.client`` raises the same classes from an error reply).

The error body is always ``{"error": message, **details}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ApiError(Exception):
    """A request that cannot be answered as asked; ``status`` is its HTTP status."""

    status = 400

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})
        self.details = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        """``{"error": message, **details}``, the API's error body."""
        return {"error": self.message, **self.details}


class Forbidden(ApiError):
    """The caller's key may not do this (HTTP 403)."""

    status = 403


class NotFound(ApiError):
    """The thing asked for does not exist (HTTP 404)."""

    status = 404


class Conflict(ApiError):
    """Someone else changed the thing first (HTTP 409)."""

    status = 409


class Unavailable(ApiError):
    """The server cannot answer now; retrying later can help (HTTP 503)."""

    status = 503


_BY_STATUS: dict[int, type[ApiError]] = {
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    503: Unavailable,
}


def error_for_status(
    status: int, message: str, details: Mapping[str, Any] | None = None
) -> ApiError:
    """The ApiError an answered status stands for (the client's side of the mapping)."""
    cls = _BY_STATUS.get(status, ApiError)
    return cls(message, status=status, details=details)
