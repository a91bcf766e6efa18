"""The errors of the feedback loop: the API's error family (each carries the HTTP status it
is answered with) under names of their own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loopwise.collector.api_errors import ApiError


class FeedbackError(ApiError, ValueError):
    """Bad input to a feedback operation (HTTP 400); nothing was changed."""

    status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message, details=details)


class NotFound(FeedbackError):
    """The item, span, dataset, prompt or version does not exist (HTTP 404)."""

    status = 404


class Conflict(FeedbackError):
    """Someone else changed the thing first: the expected version is stale (HTTP 409)."""

    status = 409


def error_for_status(status: int, message: str, details: Mapping[str, Any]) -> FeedbackError:
    """The FeedbackError subclass an API status code stands for."""
    cls = {404: NotFound, 409: Conflict}.get(status, FeedbackError)
    error = cls(message, **details)
    error.status = status
    return error
