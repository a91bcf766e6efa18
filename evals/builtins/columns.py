"""Column helpers shared by the vectorised built-ins (Arrow in, Arrow or NumPy out)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..views import REFERENCE_KEYS

STRING = pa.string()


def column(spans: pa.Table, name: str, arrow_type: pa.DataType = STRING) -> pa.Array:
    """One column as a single Arrow array (all nulls when the batch lacks it)."""
    if name not in spans.column_names:
        return pa.nulls(spans.num_rows, type=arrow_type)
    found = spans.column(name)
    return found.combine_chunks() if isinstance(found, pa.ChunkedArray) else found


def present(array: pa.Array) -> np.ndarray:
    """A boolean mask of the non-null entries."""
    return np.asarray(pc.is_valid(array).to_numpy(zero_copy_only=False), dtype=bool)


def to_bool(array: pa.Array | pa.ChunkedArray, default: bool = False) -> np.ndarray:
    """A boolean Arrow array as NumPy, nulls replaced by ``default``."""
    filled = pc.fill_null(array, default)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)


def to_float(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A numeric Arrow array as float64 NumPy, nulls as NaN."""
    return np.asarray(pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)


def regex_mask(array: pa.Array, pattern: str, *, ignore_case: bool = False) -> np.ndarray:
    """Rows whose text matches an RE2 ``pattern`` anywhere (nulls: False)."""
    return to_bool(pc.match_substring_regex(array, pattern, ignore_case=ignore_case))


def check_re2(pattern: str) -> str:
    """``pattern`` if Arrow's RE2 engine accepts it, else a ValueError saying why."""
    if not isinstance(pattern, str) or not pattern:
        raise ValueError("pattern must be a non-empty string")
    try:
        pc.match_substring_regex(pa.array([""]), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValueError(f"bad regular expression {pattern!r} (RE2 syntax): {exc}") from None
    return pattern


def references(spans: pa.Table) -> list[str | None]:
    """The reference answer per row: a ``reference`` column, else the span metadata's
    ``reference`` / ``expected_output`` / ``expected`` key."""
    if "reference" in spans.column_names:
        return [None if v is None else str(v) for v in column(spans, "reference").to_pylist()]
    found: list[str | None] = []
    for text in column(spans, "metadata").to_pylist():
        found.append(_reference_from_metadata(text))
    return found


def _reference_from_metadata(text: str | None) -> str | None:
    if not text or '"' not in text:
        return None
    try:
        metadata = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(metadata, dict):
        return None
    for key in REFERENCE_KEYS:
        value = metadata.get(key)
        if value is not None:
            return value if isinstance(value, str) else orjson.dumps(value).decode()
    return None


_WORD = re.compile(r"\w+", re.UNICODE)
_ARTICLES = frozenset({"a", "an", "the"})


def normalized_tokens(text: str) -> list[str]:
    """Lower-cased word tokens without English articles (SQuAD-style normalisation)."""
    return [t for t in _WORD.findall(text.lower()) if t not in _ARTICLES]


def texts(array: pa.Array) -> list[Any]:
    """An Arrow string array as a Python list (None for nulls)."""
    return list(array.to_pylist())
