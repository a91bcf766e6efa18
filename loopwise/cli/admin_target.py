"""The collector client a command talks through, its API errors ending the command.

Which collector (or file) a command acts on is ``target.current_target()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from loopwise.collector.api_errors import ApiError
from loopwise.collector.client import CollectorClient

from .common import fail


@contextlib.contextmanager
def collector_client(
    endpoint: str, api_key: str | None, *, timeout_s: float = 60.0
) -> Iterator[CollectorClient]:
    """The collector client one command talks through; an API error (a refusal, or nothing
    answering) ends the command with the collector's message."""
    try:
        with CollectorClient(endpoint, api_key, timeout_s=timeout_s) as client:
            yield client
    except ApiError as exc:
        fail(exc.message)
