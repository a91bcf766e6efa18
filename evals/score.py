"""What an evaluator returns: a ``Score`` for one span or trace, ``BatchScores`` for a batch.

A score says how an output did (``value``, ``label``, ``passed``) and why (``explanation``).
When the evaluator could not decide (a judge's reply was malformed, the endpoint failed),
the score is *errored*: ``status="errored"`` with an ``error`` message, and ``passed`` stays
None, so a failure is never mistaken for a pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import pyarrow as pa

ScoreStatus = Literal["ok", "errored"]
MAX_TEXT = 4000


class ScoreError(ValueError):
    """A score (or batch of scores) an evaluator returned is malformed."""


@dataclass(frozen=True, slots=True)
class Score:
    """One evaluator's verdict on one span or trace.

    ``value`` is a finite number (a similarity, a count, a probability), ``label`` a short
    category (``"refusal"``, ``"valid"``), ``passed`` whether the output is acceptable, and
    ``explanation`` one human-readable sentence. A score with ``status="ok"`` carries at
    least one of value, label or passed.
    """

    value: float | None = None
    label: str | None = None
    explanation: str | None = None
    passed: bool | None = None
    status: ScoreStatus = "ok"
    error: str | None = None
    metadata: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.value is not None:
            if isinstance(self.value, bool) or not isinstance(self.value, int | float):
                raise ScoreError(f"Score.value must be a number, got {type(self.value).__name__}")
            if not math.isfinite(self.value):
                raise ScoreError(f"Score.value must be finite, got {self.value}")
            object.__setattr__(self, "value", float(self.value))
        if self.passed is not None and not isinstance(self.passed, bool | np.bool_):
            raise ScoreError(f"Score.passed must be a bool, got {type(self.passed).__name__}")
        for name in ("label", "explanation", "error"):
            text = getattr(self, name)
            if text is not None and not isinstance(text, str):
                raise ScoreError(f"Score.{name} must be a string, got {type(text).__name__}")
        if self.status not in ("ok", "errored"):
            raise ScoreError(f"Score.status must be 'ok' or 'errored', got {self.status!r}")
        if self.status == "errored":
            if not self.error:
                raise ScoreError("an errored Score needs an error message")
            if self.passed is not None:
                raise ScoreError("an errored Score cannot pass or fail (passed must be None)")
        elif self.value is None and self.label is None and self.passed is None:
            raise ScoreError("a Score needs a value, a label or passed")

    @classmethod
    def errored(
        cls,
        error: str,
        *,
        explanation: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Score:
        """A score recording that the evaluator could not decide, and why."""
        return cls(
            status="errored",
            error=error or "unknown error",
            explanation=explanation,
            metadata=metadata,
        )


ColumnLike: TypeAlias = Sequence[Any] | np.ndarray | pa.Array | pa.ChunkedArray


@dataclass(frozen=True)
class BatchScores:
    """Column-wise scores of a batch evaluator, one entry per input row.

    Give any of ``value``, ``passed``, ``label``, ``explanation`` as lists, NumPy arrays or
    Arrow arrays of the batch's length. ``applies`` (booleans) marks the rows the evaluator
    has an opinion on; rows where it is False get no score. ``error`` holds a message for
    rows that errored (None elsewhere).
    """

    value: ColumnLike | None = None
    passed: ColumnLike | None = None
    label: ColumnLike | None = None
    explanation: ColumnLike | None = None
    applies: ColumnLike | None = None
    error: ColumnLike | None = None

    def to_arrow(self, num_rows: int) -> pa.Table:
        """The scores as an Arrow table with every column, checked against ``num_rows``."""
        columns = {
            "value": (self.value, pa.float64()),
            "passed": (self.passed, pa.bool_()),
            "label": (self.label, pa.string()),
            "explanation": (self.explanation, pa.string()),
            "applies": (self.applies, pa.bool_()),
            "error": (self.error, pa.string()),
        }
        arrays: dict[str, pa.Array] = {}
        for name, (column, arrow_type) in columns.items():
            arrays[name] = _column(name, column, arrow_type, num_rows)
        if self.value is None and self.passed is None and self.label is None:
            raise ScoreError("BatchScores needs value, passed or label")
        if self.applies is None:
            arrays["applies"] = pa.array(np.ones(num_rows, dtype=bool))
        return pa.table(arrays)


def _column(name: str, column: ColumnLike | None, arrow_type: pa.DataType, rows: int) -> pa.Array:
    if column is None:
        return pa.nulls(rows, type=arrow_type)
    try:
        if isinstance(column, pa.ChunkedArray):
            array = column.combine_chunks()
        elif isinstance(column, pa.Array):
            array = column
        elif isinstance(column, np.ndarray):
            array = pa.array(column, from_pandas=True)
        else:
            array = pa.array(list(column), from_pandas=True)
        array = array.cast(arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError) as exc:
        raise ScoreError(f"BatchScores.{name} cannot be read as {arrow_type}: {exc}") from None
    if len(array) != rows:
        raise ScoreError(f"BatchScores.{name} has {len(array)} entries for a batch of {rows} rows")
    if name == "value" and len(array):
        values = array.to_numpy(zero_copy_only=False)
        if np.isinf(values[~np.isnan(values)]).any():
            raise ScoreError("BatchScores.value must be finite")
    return array


def clip_text(text: str | None, limit: int = MAX_TEXT) -> str | None:
    """Untrusted text cut to ``limit`` characters, for explanations and errors."""
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + "…"


BatchFn: TypeAlias = Callable[[pa.Table], BatchScores]
"""What a batch evaluator factory returns: a function from a spans batch to its scores."""
