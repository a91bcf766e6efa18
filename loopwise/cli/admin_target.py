"""Where the admin commands (delete, export) act: a collector's API or a DuckDB file.

--db works on the file (only while no collector owns it), --endpoint through the collector;
with neither, the collector at http://127.0.0.1:4318 when one runs, else
./.loopwise/loopwise.duckdb, as the other commands do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

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


def auth_headers(api_key: str | None) -> dict[str, str]:
    """The Authorization header for ``api_key`` (none without one)."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def error_text(response: httpx.Response) -> str:
    """The message of a collector's error answer."""
    try:
        payload = response.json()
    except ValueError:
        return f"collector answered {response.status_code}"
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        return str(payload["error"])
    return f"collector answered {response.status_code}"
