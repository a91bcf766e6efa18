"""End-user feedback (thumbs, ratings, labels, comments) stored as ``human`` scores.

One set of rules checks feedback wherever it enters: the collector's ``POST /api/feedback``
and the SDK's ``loopwise.feedback`` (which drops bad feedback with a warning rather than
raising into the application). Stored rows are ``kind='human'``, ``source='end_user'`` in
the shared ``scores`` table; ``author`` is the end user.

Feedback may reach the collector before the spans of its trace (the SDK exports spans in
batches), so an unknown trace id is accepted, not refused: the row is stored with
``metadata["loopwise.trace_found"] = false`` and the project the sender named.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import Store

FEEDBACK_SOURCE = "end_user"
TRACE_FOUND_KEY = "loopwise.trace_found"
MAX_NAME_CHARS = 200
MAX_LABEL_CHARS = 200
MAX_ID_CHARS = 500
MAX_COMMENT_CHARS = 10_000
MAX_METADATA_BYTES = 16 * 1024
FIELDS = ("trace_id", "name", "value", "comment", "user_id", "span_id", "metadata", "project")
_HEX = frozenset("0123456789abcdef")


class UserFeedbackError(ValueError):
    """The feedback is malformed; the message names the field and what is wrong."""


@dataclass(frozen=True)
class Feedback:
    """One checked piece of end-user feedback; ``value`` and ``label`` come from the
    sender's value (see ``feedback_value``)."""

    trace_id: str
    name: str
    value: float | None
    label: str | None
    passed: bool | None = None
    comment: str | None = None
    user_id: str | None = None
    span_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    project: str | None = None


@dataclass(frozen=True)
class FeedbackReceipt:
    """What was stored: the score's id, its project, and whether the trace was known."""

    score_id: str
    project: str
    trace_found: bool


def feedback_value(value: object) -> tuple[float | None, str | None, bool | None]:
    """``(value, label, passed)`` for a thumbs bool, a number or a text label.

    True/False become 1.0/0.0 with label ``up``/``down``; numbers must be finite; a label
    must be non-empty text of at most ``MAX_LABEL_CHARS`` characters.
    """
    if isinstance(value, bool):
        return (1.0, "up", True) if value else (0.0, "down", False)
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise UserFeedbackError(f"value must be a finite number, got {value!r}")
        return number, None, None
    if isinstance(value, str):
        if not value.strip():
            raise UserFeedbackError("value must not be empty text")
        if len(value) > MAX_LABEL_CHARS:
            raise UserFeedbackError(f"value text is longer than {MAX_LABEL_CHARS} characters")
        return None, value, None
    raise UserFeedbackError(
        f"value must be true/false, a number or a text label, got {type(value).__name__}"
    )


def parse_feedback(payload: object) -> Feedback:
    """Check a feedback payload (a JSON object); raise UserFeedbackError naming the problem."""
    if not isinstance(payload, Mapping):
        raise UserFeedbackError("feedback must be a JSON object")
    unknown = sorted(str(key) for key in payload if key not in FIELDS)
    if unknown:
        raise UserFeedbackError(
            f"unknown field(s) {', '.join(unknown)}; expected {', '.join(FIELDS)}"
        )
    for required in ("trace_id", "name", "value"):
        if payload.get(required) is None:
            raise UserFeedbackError(f"{required} is required")
    value, label, passed = feedback_value(payload["value"])
    return Feedback(
        trace_id=_hex_id(payload["trace_id"], "trace_id", 32),
        name=_text(payload["name"], "name", MAX_NAME_CHARS),
        value=value,
        label=label,
        passed=passed,
        comment=_optional_text(payload.get("comment"), "comment", MAX_COMMENT_CHARS),
        user_id=_optional_text(payload.get("user_id"), "user_id", MAX_ID_CHARS),
        span_id=(
            None if payload.get("span_id") is None else _hex_id(payload["span_id"], "span_id", 16)
        ),
        metadata=_metadata(payload.get("metadata")),
        project=_optional_text(payload.get("project"), "project", MAX_ID_CHARS),
    )


def record_feedback(store: Store, feedback: Feedback, *, default_project: str) -> FeedbackReceipt:
    """Store one piece of feedback as a human score; the trace's project wins when the trace
    is known, else the sender's project, else ``default_project``."""
    from .scores import ScoreRow, append_scores  # pyarrow: the SDK validates without it

    rows = store.query("SELECT project FROM traces WHERE trace_id = ?", [feedback.trace_id]).rows
    trace_found = bool(rows)
    project = str(rows[0][0]) if rows else feedback.project or default_project
    row = ScoreRow(
        project=project,
        trace_id=feedback.trace_id,
        span_id=feedback.span_id,
        name=feedback.name,
        kind="human",
        source=FEEDBACK_SOURCE,
        value=feedback.value,
        label=feedback.label,
        passed=feedback.passed,
        author=feedback.user_id,
        comment=feedback.comment,
        metadata={**feedback.metadata, TRACE_FOUND_KEY: trace_found},
    )
    append_scores(store, [row])
    return FeedbackReceipt(score_id=row.score_id, project=project, trace_found=trace_found)


def _text(value: object, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UserFeedbackError(f"{name} must be non-empty text")
    if len(value) > limit:
        raise UserFeedbackError(f"{name} is longer than {limit} characters")
    return value


def _optional_text(value: object, name: str, limit: int) -> str | None:
    return None if value is None else _text(value, name, limit)


def _hex_id(value: object, name: str, length: int) -> str:
    text = value.lower() if isinstance(value, str) else ""
    if len(text) != length or not set(text) <= _HEX or not text.strip("0"):
        raise UserFeedbackError(f"{name} must be {length} hex characters (not all zero)")
    return text


def _metadata(value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UserFeedbackError("metadata must be a JSON object")
    try:
        text = json.dumps(dict(value), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UserFeedbackError(f"metadata must be plain JSON: {exc}") from None
    if len(text.encode()) > MAX_METADATA_BYTES:
        raise UserFeedbackError(f"metadata is larger than {MAX_METADATA_BYTES} bytes as JSON")
    parsed: dict[str, Any] = json.loads(text)
    return parsed
