"""Text evaluators over Arrow compute: regex, contains, exact match, length bounds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..declare import evaluator
from ..score import BatchFn, BatchScores
from .columns import check_re2, column, present, references, regex_mask, to_float

TextField = Literal["output", "input"]


def _field(name: str) -> TextField:
    if name not in ("output", "input"):
        raise ValueError(f"field must be 'output' or 'input', got {name!r}")
    return name  # type: ignore[return-value]


@evaluator(name="regex", version="1")
def regex(
    pattern: str, field: str = "output", must_match: bool = True, ignore_case: bool = False
) -> BatchFn:
    """The text matches (or, with ``must_match=False``, does not match) an RE2 pattern;
    value 1 for a pass, label ``match`` or ``no_match``."""
    check_re2(pattern)
    checked = _field(field)

    def score(spans: pa.Table) -> BatchScores:
        text = column(spans, checked)
        matched = regex_mask(text, pattern, ignore_case=ignore_case)
        passed = matched if must_match else ~matched
        if must_match:
            reason = f"{checked} does not match /{pattern[:80]}/"
        else:
            reason = f"{checked} matches the forbidden pattern /{pattern[:80]}/"
        return BatchScores(
            passed=passed,
            value=passed.astype(float),
            applies=present(text),
            label=np.where(matched, "match", "no_match"),
            explanation=[None if ok else reason for ok in passed],
        )

    return score


@evaluator(name="contains", version="1")
def contains(
    text: str | Sequence[str],
    field: str = "output",
    mode: str = "any",
    case_sensitive: bool = False,
    negate: bool = False,
) -> BatchFn:
    """The text contains any (``mode="any"``) or all (``"all"``) of the given strings;
    ``negate`` requires that it contains none of them. Value 1 for a pass; the explanation
    names what is missing or forbidden."""
    needles = [text] if isinstance(text, str) else list(text)
    if not needles or not all(isinstance(n, str) and n for n in needles):
        raise ValueError("text must be a non-empty string or a list of them")
    if mode not in ("any", "all"):
        raise ValueError(f"mode must be 'any' or 'all', got {mode!r}")
    checked = _field(field)

    def score(spans: pa.Table) -> BatchScores:
        haystack = column(spans, checked)
        hits = np.stack(
            [
                np.asarray(
                    pc.fill_null(
                        pc.match_substring(haystack, n, ignore_case=not case_sensitive), False
                    ).to_numpy(zero_copy_only=False),
                    dtype=bool,
                )
                for n in needles
            ]
        )
        found = hits.all(axis=0) if mode == "all" else hits.any(axis=0)
        passed = np.asarray(~hits.any(axis=0) if negate else found, dtype=bool)
        explanation: list[str | None] = [None] * spans.num_rows
        for i in np.flatnonzero(~passed):
            explanation[i] = _contains_reason(needles, hits[:, i], negate)
        return BatchScores(
            passed=passed,
            value=passed.astype(float),
            applies=present(haystack),
            explanation=explanation,
        )

    return score


def _contains_reason(needles: list[str], row: np.ndarray, negate: bool) -> str:
    if negate:
        found = [n for n, hit in zip(needles, row, strict=True) if hit]
        return "contains " + ", ".join(repr(n[:40]) for n in found[:5])
    missing = [n for n, hit in zip(needles, row, strict=True) if not hit]
    return "missing " + ", ".join(repr(n[:40]) for n in missing[:5])


_SPACE = re.compile(r"\s+")


@evaluator(name="exact_match", version="1")
def exact_match(normalize: bool = True) -> BatchFn:
    """The output equals the reference; with ``normalize``, ignoring case, surrounding
    whitespace and runs of whitespace."""

    def score(spans: pa.Table) -> BatchScores:
        outputs = column(spans, "output").to_pylist()
        refs = references(spans)
        applies = np.array(
            [o is not None and r is not None for o, r in zip(outputs, refs, strict=True)]
        )
        passed = np.zeros(len(outputs), dtype=bool)
        for i, (out, ref) in enumerate(zip(outputs, refs, strict=True)):
            if applies[i] and out is not None and ref is not None:
                passed[i] = _norm(out) == _norm(ref) if normalize else out == ref
        explanation = [None if ok else "output differs from the reference" for ok in passed]
        return BatchScores(
            passed=passed, value=passed.astype(float), applies=applies, explanation=explanation
        )

    return score


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text.strip()).casefold()


@evaluator(name="length_bounds", version="1", direction="none")
def length_bounds(
    min_length: int | None = None, max_length: int | None = None, unit: str = "chars"
) -> BatchFn:
    """The output's length (``chars`` or ``words``) lies within [min_length, max_length]."""
    if min_length is None and max_length is None:
        raise ValueError("give min_length, max_length or both")
    if unit not in ("chars", "words"):
        raise ValueError(f"unit must be 'chars' or 'words', got {unit!r}")
    low = -np.inf if min_length is None else float(min_length)
    high = np.inf if max_length is None else float(max_length)
    if low > high:
        raise ValueError(f"min_length {min_length} is above max_length {max_length}")

    def score(spans: pa.Table) -> BatchScores:
        outputs = column(spans, "output")
        if unit == "chars":
            lengths = to_float(pc.utf8_length(outputs))
        else:
            lengths = to_float(pc.count_substring_regex(outputs, r"\S+"))
        applies = present(outputs)
        with np.errstate(invalid="ignore"):
            passed = (lengths >= low) & (lengths <= high)
        explanation: list[str | None] = [None] * spans.num_rows
        for i in np.flatnonzero(applies & ~passed):
            explanation[i] = (
                f"length {int(lengths[i])} {unit} is outside [{min_length}, {max_length}]"
            )
        return BatchScores(
            passed=passed,
            value=np.where(applies, lengths, np.nan),
            applies=applies,
            explanation=explanation,
        )

    return score
