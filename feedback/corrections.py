"""Corrections: the right output for a span, written by a reviewer when correcting a review
item, with the reviewer's verdicts per evaluator and a free-text reason. Append-only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from loopwise.collector.sdk import PROMPT_NAME
from loopwise.collector.store import Store

from .common import from_json, new_id, to_json, utcnow
from .spans import attribute_sql, prompt_columns_sql
from .verdicts import Verdict

CORRECTION_SCHEMA = pa.schema(
    [
        ("correction_id", pa.string()),
        ("item_id", pa.string()),
        ("project", pa.string()),
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("original_output", pa.string()),
        ("corrected_output", pa.string()),
        ("reason", pa.string()),
        ("verdicts", pa.string()),
        ("author", pa.string()),
        ("created_at", pa.timestamp("us")),
    ]
)

CORRECTIONS_SQL = f"""
SELECT c.*, s.name AS span_name, s.input AS span_input, s.metadata AS span_metadata,
       {prompt_columns_sql("s.")}
FROM corrections c
LEFT JOIN spans s ON s.trace_id = c.trace_id AND s.span_id = c.span_id
WHERE (CAST($project AS VARCHAR) IS NULL OR c.project = CAST($project AS VARCHAR))
  AND (CAST($item_id AS VARCHAR) IS NULL OR c.item_id = CAST($item_id AS VARCHAR))
  AND (CAST($ids AS VARCHAR[]) IS NULL OR list_contains(CAST($ids AS VARCHAR[]), c.correction_id))
  AND (CAST($prompt AS VARCHAR) IS NULL
       OR {attribute_sql(PROMPT_NAME, "s.")} = CAST($prompt AS VARCHAR))
ORDER BY c.created_at, c.correction_id
LIMIT $limit
"""


@dataclass(frozen=True)
class Correction:
    """A stored correction, with what the span it corrects recorded about its prompt."""

    correction_id: str
    item_id: str | None
    project: str
    trace_id: str
    span_id: str | None
    original_output: str | None
    corrected_output: str
    reason: str | None
    verdicts: dict[str, str]
    author: str
    created_at: dt.datetime
    span_name: str | None = None
    span_input: str | None = None
    span_metadata: dict[str, Any] | None = None
    prompt_name: str | None = None
    prompt_version: int | None = None
    prompt_variables: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return asdict(self)


def correction_record(
    *,
    item_id: str | None,
    project: str,
    trace_id: str,
    span_id: str | None,
    original_output: str | None,
    corrected_output: str,
    reason: str | None,
    verdicts: Mapping[str, Verdict],
    author: str,
) -> dict[str, Any]:
    """A new row for the ``corrections`` table (CORRECTION_SCHEMA)."""
    return {
        "correction_id": new_id("cor"),
        "item_id": item_id,
        "project": project,
        "trace_id": trace_id,
        "span_id": span_id,
        "original_output": original_output,
        "corrected_output": corrected_output,
        "reason": reason,
        "verdicts": to_json({name: v.label for name, v in verdicts.items()}),
        "author": author,
        "created_at": utcnow(),
    }


def list_corrections(
    store: Store,
    *,
    project: str | None = None,
    item_id: str | None = None,
    ids: Sequence[str] | None = None,
    prompt: str | None = None,
    limit: int = 1000,
) -> list[Correction]:
    """Corrections, oldest first, filtered by project, review item, ids or the prompt their
    span was rendered from."""
    params = {
        "project": project,
        "item_id": item_id,
        "ids": list(ids) if ids is not None else None,
        "prompt": prompt,
        "limit": limit,
    }
    rows = store.query(CORRECTIONS_SQL, params, max_rows=limit).records()
    out = []
    for row in rows:
        metadata = from_json(row["span_metadata"])
        variables = from_json(row["prompt_variables"])
        out.append(
            Correction(
                correction_id=row["correction_id"],
                item_id=row["item_id"],
                project=row["project"],
                trace_id=row["trace_id"],
                span_id=row["span_id"],
                original_output=row["original_output"],
                corrected_output=row["corrected_output"],
                reason=row["reason"],
                verdicts=from_json(row["verdicts"], {}),
                author=row["author"],
                created_at=row["created_at"],
                span_name=row["span_name"],
                span_input=row["span_input"],
                span_metadata=metadata if isinstance(metadata, dict) else None,
                prompt_name=row["prompt_name"],
                prompt_version=row["prompt_version"],
                prompt_variables=variables if isinstance(variables, dict) else None,
            )
        )
    return out
