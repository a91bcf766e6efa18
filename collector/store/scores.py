"""The ``scores`` table, shared by evaluators (code, llm) and people (human).

Scores are append-only: a re-run, a new evaluator version or a changed human verdict adds
rows; nothing is overwritten. A score is about a span, or about a whole trace when
``span_id`` is null.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pyarrow as pa

from .store import Store

ScoreKind = Literal["code", "llm", "human"]
ScoreStatus = Literal["ok", "errored"]
ScoreDirection = Literal["higher", "lower", "none"]
"""Which way of ``value`` is better; ``none``: compare ``passed`` (see evals.declare)."""

SCORE_COLUMNS: tuple[tuple[str, str, pa.DataType], ...] = (
    ("score_id", "VARCHAR PRIMARY KEY", pa.string()),
    ("project", "VARCHAR NOT NULL", pa.string()),
    ("trace_id", "VARCHAR NOT NULL", pa.string()),
    ("span_id", "VARCHAR", pa.string()),
    ("name", "VARCHAR NOT NULL", pa.string()),
    ("value", "DOUBLE", pa.float64()),
    ("label", "VARCHAR", pa.string()),
    ("passed", "BOOLEAN", pa.bool_()),
    ("explanation", "VARCHAR", pa.string()),
    ("kind", "VARCHAR NOT NULL", pa.string()),
    ("source", "VARCHAR NOT NULL", pa.string()),
    ("evaluator_version", "VARCHAR", pa.string()),
    ("status", "VARCHAR NOT NULL", pa.string()),
    ("error", "VARCHAR", pa.string()),
    ("author", "VARCHAR", pa.string()),
    ("comment", "VARCHAR", pa.string()),
    ("metadata", "VARCHAR", pa.string()),  # JSON text
    ("created_at", "TIMESTAMP NOT NULL", pa.timestamp("us")),
    ("direction", "VARCHAR DEFAULT 'higher'", pa.string()),
)
SCORE_COLUMN_NAMES = tuple(name for name, _, _ in SCORE_COLUMNS)
SCORE_ARROW_SCHEMA = pa.schema([(name, arrow) for name, _, arrow in SCORE_COLUMNS])


@dataclass
class ScoreRow:
    """One stored score. ``kind`` says who scored (code, llm, human); ``source`` names the
    evaluator or the channel (``end_user``, ``reviewer``)."""

    project: str
    trace_id: str
    name: str
    kind: ScoreKind
    source: str
    span_id: str | None = None
    value: float | None = None
    label: str | None = None
    passed: bool | None = None
    explanation: str | None = None
    evaluator_version: str | None = None
    status: ScoreStatus = "ok"
    error: str | None = None
    author: str | None = None
    comment: str | None = None
    metadata: Mapping[str, Any] | None = None
    score_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: dt.datetime = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None)
    )
    direction: ScoreDirection = "higher"


def scores_table(rows: Iterable[ScoreRow]) -> pa.Table:
    """Score rows as an Arrow table in the ``scores`` schema."""
    records = []
    for row in rows:
        record = asdict(row)
        record["metadata"] = json.dumps(row.metadata, default=str) if row.metadata else None
        records.append(record)
    return pa.Table.from_pylist(records, schema=SCORE_ARROW_SCHEMA)


def append_scores(store: Store, rows: Iterable[ScoreRow] | pa.Table) -> int:
    """Append scores in one transaction; return how many were stored."""
    table = rows if isinstance(rows, pa.Table) else scores_table(rows)
    return store.append_rows("scores", table)
