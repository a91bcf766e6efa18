"""Where the admin commands (delete, export) act: a collector's API or a DuckDB file.

--db works on the file (only while no collector owns it), --endpoint through the collector;
with neither, the collector at http://127.0.0.1:4318 when one runs, else
./.loopwise/loopwise.duckdb, as the other commands do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from loopwise.collector.api_errors import ApiError
from loopwise.collector.client import CollectorClient
from loopwise.collector.sdk import DEFAULT_ENDPOINT
from loopwise.collector.store import DEFAULT_DB_PATH

from .common import collector_running, fail


@dataclass(frozen=True)
class Target:
    """A collector URL (``endpoint``) or a DuckDB file (``db``): exactly one is set."""

    endpoint: str | None = None
    db: Path | None = None


def resolve_target(endpoint: str | None, db: Path | None) -> Target:
    """--db, else --endpoint, else a running local collector, else the default file."""
    if endpoint and db:
        fail("give --endpoint or --db, not both", code=2)
    if db is not None:
        return Target(db=db)
    if endpoint is not None:
        return Target(endpoint=endpoint.rstrip("/"))
    if collector_running(DEFAULT_ENDPOINT):
        return Target(endpoint=DEFAULT_ENDPOINT.rstrip("/"))
    return Target(db=DEFAULT_DB_PATH)


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
