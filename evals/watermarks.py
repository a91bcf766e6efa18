"""Watermarks: how far each online evaluator configuration and each rule has read.

One row per key in ``eval_watermarks``. The key hashes the configuration (evaluator name,
version, options and selector; or the rule's definition), so a changed configuration
starts over and an unchanged one resumes. The watermark advances in the same transaction
that stores the scores and flags of its window: after a crash either both happened or
neither did, so a restart never scores a span twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import duckdb

UPSERT_SQL = """
INSERT INTO eval_watermarks
    (watermark_key, kind, name, version, definition, last_rowid, last_ingested_at,
     processed, scored, flagged, last_error, last_error_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (watermark_key) DO UPDATE SET
    last_rowid = greatest(eval_watermarks.last_rowid, excluded.last_rowid),
    last_ingested_at = coalesce(excluded.last_ingested_at, eval_watermarks.last_ingested_at),
    processed = eval_watermarks.processed + excluded.processed,
    scored = eval_watermarks.scored + excluded.scored,
    flagged = eval_watermarks.flagged + excluded.flagged,
    last_error = coalesce(excluded.last_error, eval_watermarks.last_error),
    last_error_at = coalesce(excluded.last_error_at, eval_watermarks.last_error_at),
    updated_at = excluded.updated_at
"""


def config_key(kind: str, definition: dict[str, Any]) -> str:
    """A stable key for a configuration: the hash of its canonical JSON."""
    canonical = json.dumps(definition, sort_keys=True, default=str, separators=(",", ":"))
    return f"{kind}:{hashlib.sha256(canonical.encode()).hexdigest()[:24]}"


@dataclass(frozen=True)
class Watermark:
    """A stored watermark row."""

    key: str
    kind: str
    name: str
    version: str | None
    last_rowid: int
    last_ingested_at: dt.datetime | None
    processed: int
    scored: int
    flagged: int
    last_error: str | None
    last_error_at: dt.datetime | None
    updated_at: dt.datetime


def read_watermarks(cur: duckdb.DuckDBPyConnection) -> dict[str, Watermark]:
    """Every stored watermark by key."""
    rows = cur.execute(
        "SELECT watermark_key, kind, name, version, last_rowid, last_ingested_at, processed, "
        "scored, flagged, last_error, last_error_at, updated_at FROM eval_watermarks"
    ).fetchall()
    return {row[0]: Watermark(*row) for row in rows}


def last_rowid(cur: duckdb.DuckDBPyConnection, key: str, start: int = -1) -> int:
    """Where ``key`` stopped (``start`` when it never ran)."""
    rows = cur.execute(
        "SELECT last_rowid FROM eval_watermarks WHERE watermark_key = ?", [key]
    ).fetchall()
    return int(rows[0][0]) if rows else start


def advance(
    cur: duckdb.DuckDBPyConnection,
    key: str,
    *,
    kind: str,
    name: str,
    version: str | None,
    definition: dict[str, Any],
    until: int,
    ingested_at: dt.datetime | None = None,
    processed: int = 0,
    scored: int = 0,
    flagged: int = 0,
    error: str | None = None,
) -> None:
    """Move ``key`` to ``until`` and add to its counters (inside the caller's transaction)."""
    now = _now()
    cur.execute(
        UPSERT_SQL,
        [
            key,
            kind,
            name,
            version,
            json.dumps(definition, sort_keys=True, default=str),
            until,
            ingested_at,
            processed,
            scored,
            flagged,
            error,
            now if error else None,
            now,
        ],
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
