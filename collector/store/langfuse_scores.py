"""Scores sent through Langfuse's public API (``POST /api/public/scores``), stored as rows of
the shared ``scores`` table.

The Langfuse SDKs (``create_score``, ``score_current_trace``, ``span.score``) send a JSON
array of scores: ``{"id", "traceId", "observationId"?, "name", "value", "dataType"?,
"comment"?, "metadata"?, "timestamp"?, "environment"?, "configId"?}``. Each is checked on its
own: a bad one is reported and skipped, the others are stored. Mapping:

- ``traceId`` / ``observationId`` → ``trace_id`` / ``span_id``: hex ids (the OTel ids the
  same SDK exports) as they are; the route maps any other id (a v2 SDK's UUID) the way
  ``/api/public/ingestion`` maps its traces' and observations' (collector/langfuse/ids.py),
  so the score lands on that trace. A score on a session or dataset run alone is refused
  (loopwise scores traces and spans).
- ``value``: a number is ``value`` (``BOOLEAN`` also sets ``passed``); a string is the
  ``label`` (``CATEGORICAL``), or the ``explanation`` for ``TEXT`` and ``CORRECTION``.
- ``kind`` is ``code`` (a score computed by the application), ``source`` is ``langfuse``;
  ``id`` is the ``score_id``, so a resent score is stored once; ``dataType``, ``configId``,
  ``environment`` and ``timestamp`` go to metadata with the sender's ``metadata``.
- The project is the trace's when the trace is stored, else the default project.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .scores import ScoreRow, append_scores
from .store import Store

LANGFUSE_SOURCE = "langfuse"
DATA_TYPES = frozenset({"NUMERIC", "BOOLEAN", "CATEGORICAL", "TEXT", "CORRECTION"})
TEXT_TYPES = frozenset({"TEXT", "CORRECTION"})
MAX_SCORES = 1000
MAX_NAME_CHARS = 200
MAX_TEXT_CHARS = 10_000
MAX_ID_CHARS = 200
MAX_METADATA_BYTES = 16 * 1024
_HEX = frozenset("0123456789abcdef")


class LangfuseScoreError(ValueError):
    """A score (or the whole body) is malformed; the message says which field and why."""


@dataclass
class LangfuseScoreResult:
    """How many scores were stored and why the others were not."""

    accepted: int = 0
    errors: list[str] = field(default_factory=list)


def record_langfuse_scores(
    store: Store,
    payload: Any,
    *,
    default_project: str,
    project: str | None = None,
    map_ids: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
) -> LangfuseScoreResult:
    """Check and store a ``POST /api/public/scores`` body (an array, or one score).

    ``project`` (a project key's) is where every score lands, whatever trace it names;
    ``map_ids`` turns each score's Langfuse ids into loopwise's first."""
    items = payload if isinstance(payload, list) else [payload]
    if not items or not all(isinstance(item, dict) for item in items):
        raise LangfuseScoreError("the body must be a score object or a non-empty array of them")
    if len(items) > MAX_SCORES:
        raise LangfuseScoreError(f"at most {MAX_SCORES} scores per request")
    result = LangfuseScoreResult()
    rows: list[ScoreRow] = []
    for index, item in enumerate(items):
        try:
            rows.append(score_row(map_ids(item) if map_ids else item))
        except LangfuseScoreError as exc:
            result.errors.append(f"score {index}: {exc}")
    result.accepted = append_langfuse_scores(
        store, rows, default_project=default_project, project=project
    )
    return result


def append_langfuse_scores(
    store: Store, rows: list[ScoreRow], *, default_project: str, project: str | None = None
) -> int:
    """Store checked scores (``score_row``'s), each in ``project`` when given, else in its
    trace's project (the default project while the trace is not stored); return how many."""
    if not rows:
        return 0
    projects = {} if project else _projects(store, {row.trace_id for row in rows})
    for row in rows:
        row.project = project or projects.get(row.trace_id, default_project)
    append_scores(store, rows)
    return len(rows)


def _projects(store: Store, trace_ids: set[str]) -> dict[str, str]:
    found = store.query(
        "SELECT trace_id, project FROM traces WHERE list_contains(?, trace_id)", [sorted(trace_ids)]
    ).rows
    return {str(trace_id): str(project) for trace_id, project in found}


def score_row(item: Mapping[str, Any]) -> ScoreRow:
    """One Langfuse score object as a ``scores`` row (its project still unset);
    LangfuseScoreError names the field that is wrong."""
    name = _text(item.get("name"), "name", MAX_NAME_CHARS)
    if item.get("traceId") is None:
        raise LangfuseScoreError(
            "traceId is required (scores on sessions or dataset runs alone are not stored)"
        )
    trace_id = _hex_id(item["traceId"], "traceId", 32)
    span_id = (
        None
        if item.get("observationId") is None
        else _hex_id(item["observationId"], "observationId", 16)
    )
    data_type = item.get("dataType")
    if data_type is not None and data_type not in DATA_TYPES:
        raise LangfuseScoreError(f"dataType must be one of {sorted(DATA_TYPES)}")
    value, label, passed, explanation = _value(item.get("value"), data_type)
    metadata = _metadata(item.get("metadata"))
    for key in ("dataType", "configId", "environment", "timestamp", "sessionId", "datasetRunId"):
        if item.get(key) is not None:
            metadata[f"langfuse.{key}"] = item[key]
    score_id = item.get("id")
    return ScoreRow(
        project="",
        trace_id=trace_id,
        span_id=span_id,
        name=name,
        kind="code",
        source=LANGFUSE_SOURCE,
        value=value,
        label=label,
        passed=passed,
        explanation=explanation,
        comment=None
        if item.get("comment") is None
        else _text(item["comment"], "comment", MAX_TEXT_CHARS),
        metadata=metadata,
        score_id=_text(score_id, "id", MAX_ID_CHARS) if score_id is not None else uuid.uuid4().hex,
    )


def _value(raw: Any, data_type: Any) -> tuple[float | None, str | None, bool | None, str | None]:
    """(value, label, passed, explanation) of a score's value."""
    if isinstance(raw, bool):
        raw = float(raw)
    if isinstance(raw, int | float):
        number = float(raw)
        if not math.isfinite(number):
            raise LangfuseScoreError("value must be a finite number")
        if data_type == "BOOLEAN":
            if number not in (0.0, 1.0):
                raise LangfuseScoreError("a BOOLEAN value must be 0 or 1")
            return number, None, number == 1.0, None
        if data_type == "CATEGORICAL":
            return number, _label(raw), None, None
        return number, None, None, None
    if isinstance(raw, str):
        if data_type in ("NUMERIC", "BOOLEAN"):
            raise LangfuseScoreError(f"a {data_type} value must be a number")
        if data_type in TEXT_TYPES:
            return None, None, None, _text(raw, "value", MAX_TEXT_CHARS)
        return None, _text(raw, "value", MAX_NAME_CHARS), None, None
    raise LangfuseScoreError("value must be a number or a string")


def _label(raw: float) -> str:
    return str(int(raw)) if float(raw).is_integer() else str(raw)


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LangfuseScoreError(f"{name} must be non-empty text")
    if len(value) > limit:
        raise LangfuseScoreError(f"{name} is longer than {limit} characters")
    return value


def _hex_id(value: Any, name: str, length: int) -> str:
    text = value.lower() if isinstance(value, str) else ""
    if len(text) != length or not set(text) <= _HEX or not text.strip("0"):
        raise LangfuseScoreError(f"{name} must be {length} hex characters (not all zero)")
    return text


def _metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    found = dict(value) if isinstance(value, dict) else {"value": value}
    if len(json.dumps(found, default=str)) > MAX_METADATA_BYTES:
        raise LangfuseScoreError(f"metadata is larger than {MAX_METADATA_BYTES} bytes")
    return found
