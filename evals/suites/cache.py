"""A cache of target runs, so an unchanged rerun of a suite calls nothing.

Keyed by the suite, the target's identity (its declared version or source), the example's
input and the repetition. Stored in a small DuckDB file of its own (default
``.loopwise/cache/suite-runs.duckdb``), apart from the collector's database.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb

DEFAULT_CACHE_PATH = Path(".loopwise") / "cache" / "suite-runs.duckdb"


def cache_key(suite: str, target_identity: str, example_input: Any, repetition: int) -> str:
    """A stable key for one target run."""
    material = json.dumps(
        [suite, target_identity, example_input, repetition], sort_keys=True, default=str
    )
    return hashlib.sha256(material.encode()).hexdigest()


class RunCache:
    """Get and put JSON payloads by key; ``enabled=False`` makes every lookup a miss (and
    still stores fresh results, so ``--no-cache`` refreshes the cache)."""

    def __init__(self, path: Path = DEFAULT_CACHE_PATH, *, enabled: bool = True) -> None:
        self.enabled = enabled
        path.parent.mkdir(parents=True, exist_ok=True)
        self._con = duckdb.connect(str(path))
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS runs (key VARCHAR PRIMARY KEY, payload VARCHAR, "
            "created_at TIMESTAMP DEFAULT current_timestamp)"
        )

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached payload, or None."""
        if not self.enabled:
            return None
        rows = self._con.execute("SELECT payload FROM runs WHERE key = ?", [key]).fetchall()
        return json.loads(rows[0][0]) if rows else None

    def put(self, key: str, payload: dict[str, Any]) -> None:
        """Store (or replace) a payload."""
        text = json.dumps(payload, default=str)
        self._con.execute("INSERT OR REPLACE INTO runs (key, payload) VALUES (?, ?)", [key, text])

    def close(self) -> None:
        """Close the cache file."""
        self._con.close()
