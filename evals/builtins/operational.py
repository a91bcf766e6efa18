"""Operational evaluators: latency, token and cost thresholds, error status (pure Arrow)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..declare import evaluator
from ..score import BatchFn, BatchScores
from .columns import column, present, to_bool, to_float

TOKEN_FIELDS = ("total_tokens", "input_tokens", "output_tokens")


def _at_most(spans: pa.Table, name: str, limit: float, unit: str, label: str) -> BatchScores:
    raw = column(spans, name, pa.float64())
    values = to_float(raw)
    applies = present(raw)
    with np.errstate(invalid="ignore"):
        passed = values <= limit
    explanation: list[str | None] = [None] * len(values)
    for i in np.flatnonzero(applies & ~passed):
        explanation[i] = f"{label} {values[i]:,.6g}{unit} exceeds {limit:,g}{unit}"
    return BatchScores(value=values, passed=passed, applies=applies, explanation=explanation)


def _positive(name: str, value: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


@evaluator(name="latency_threshold", version="1", direction="lower")
def latency_threshold(max_ms: float) -> BatchFn:
    """The span took at most ``max_ms`` milliseconds."""
    limit = _positive("max_ms", max_ms)

    def score(spans: pa.Table) -> BatchScores:
        return _at_most(spans, "duration_ms", limit, " ms", "duration")

    return score


@evaluator(name="token_threshold", version="1", direction="lower")
def token_threshold(max_tokens: int, field: str = "total_tokens") -> BatchFn:
    """The span used at most ``max_tokens`` (``total_tokens``, ``input_tokens`` or
    ``output_tokens``); spans without token counts are not scored."""
    limit = _positive("max_tokens", max_tokens)
    if field not in TOKEN_FIELDS:
        raise ValueError(f"field must be one of {', '.join(TOKEN_FIELDS)}, got {field!r}")

    def score(spans: pa.Table) -> BatchScores:
        return _at_most(spans, field, limit, "", field.replace("_", " "))

    return score


@evaluator(name="cost_threshold", version="1", direction="lower")
def cost_threshold(max_usd: float) -> BatchFn:
    """The span cost at most ``max_usd`` dollars; spans without a cost are not scored."""
    limit = _positive("max_usd", max_usd)

    def score(spans: pa.Table) -> BatchScores:
        return _at_most(spans, "cost_usd", limit, " USD", "cost")

    return score


@evaluator(name="error_status")
def error_status(spans: pa.Table) -> BatchScores:
    """The span did not end in status error (value 1, else 0); the explanation carries its
    status message."""
    failed = to_bool(pc.equal(column(spans, "status"), "error"))
    messages = column(spans, "status_message")
    explanation: list[str | None] = [None] * spans.num_rows
    for i in np.flatnonzero(failed):
        message = messages[int(i)].as_py() or "no message"
        explanation[i] = f"span ended in error: {message[:300]}"
    return BatchScores(
        passed=~failed,
        value=(~failed).astype(float),
        explanation=explanation,
        label=np.where(failed, "error", "ok"),
    )
