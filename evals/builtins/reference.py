"""Similarity to a reference answer: token F1, ROUGE-L and TF-IDF cosine.

The reference comes from a ``reference`` column (dataset runs) or the span metadata's
``reference`` / ``expected_output`` / ``expected`` key. Rows without one are not scored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from ..declare import evaluator
from ..score import BatchFn, BatchScores
from .columns import column, normalized_tokens, references

MAX_LCS_TOKENS = 400


def _threshold(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"threshold must be within [0, 1], got {value}")
    return float(value)


def _pairs(spans: pa.Table) -> tuple[list[str | None], list[str | None], np.ndarray]:
    outputs = column(spans, "output").to_pylist()
    refs = references(spans)
    applies = np.array(
        [o is not None and r is not None for o, r in zip(outputs, refs, strict=True)], dtype=bool
    )
    return outputs, refs, applies


def _pairwise(
    spans: pa.Table, threshold: float, measure: Callable[[str, str], float], name: str
) -> BatchScores:
    outputs, refs, applies = _pairs(spans)
    values = np.full(len(outputs), np.nan)
    for i, (out, ref) in enumerate(zip(outputs, refs, strict=True)):
        if applies[i]:
            values[i] = measure(out or "", ref or "")
    return _thresholded(values, applies, threshold, name)


def _thresholded(
    values: np.ndarray, applies: np.ndarray, threshold: float, name: str
) -> BatchScores:
    with np.errstate(invalid="ignore"):
        passed = values >= threshold
    explanation = [
        None if ok or not applies[i] else f"{name} {values[i]:.2f} is below {threshold:.2f}"
        for i, ok in enumerate(passed)
    ]
    return BatchScores(value=values, passed=passed, applies=applies, explanation=explanation)


def token_f1_score(output: str, reference: str) -> float:
    """Harmonic mean of token precision and recall (SQuAD normalisation)."""
    out, ref = normalized_tokens(output), normalized_tokens(reference)
    if not out or not ref:
        return float(out == ref)
    common = sum((Counter(out) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(out), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def rouge_l_score(output: str, reference: str) -> float:
    """ROUGE-L F-measure: longest common token subsequence (first 400 tokens of each)."""
    out = normalized_tokens(output)[:MAX_LCS_TOKENS]
    ref = normalized_tokens(reference)[:MAX_LCS_TOKENS]
    if not out or not ref:
        return float(out == ref)
    previous = [0] * (len(ref) + 1)
    for token in out:
        current = [0]
        for j, other in enumerate(ref):
            current.append(previous[j] + 1 if token == other else max(previous[j + 1], current[j]))
        previous = current
    lcs = previous[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(out), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


@evaluator(name="token_f1", version="1")
def token_f1(threshold: float = 0.5) -> BatchFn:
    """Token-overlap F1 between output and reference; passes at ``threshold`` or above."""
    limit = _threshold(threshold)

    def score(spans: pa.Table) -> BatchScores:
        return _pairwise(spans, limit, token_f1_score, "token F1")

    return score


@evaluator(name="rouge_l", version="1")
def rouge_l(threshold: float = 0.5) -> BatchFn:
    """ROUGE-L F-measure between output and reference; passes at ``threshold`` or above."""
    limit = _threshold(threshold)

    def score(spans: pa.Table) -> BatchScores:
        return _pairwise(spans, limit, rouge_l_score, "ROUGE-L")

    return score


@evaluator(name="tfidf_similarity", version="1")
def tfidf_similarity(threshold: float = 0.5) -> BatchFn:
    """Cosine similarity of TF-IDF vectors (word unigrams and bigrams, fitted on the batch's
    outputs and references) between output and reference."""
    limit = _threshold(threshold)

    def score(spans: pa.Table) -> BatchScores:
        from sklearn.feature_extraction.text import TfidfVectorizer  # heavy; on first use

        outputs, refs, applies = _pairs(spans)
        values = np.full(len(outputs), np.nan)
        rows = np.flatnonzero(applies)
        if len(rows):
            documents = [outputs[i] or "" for i in rows] + [refs[i] or "" for i in rows]
            try:
                matrix = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(
                    documents
                )
            except ValueError:  # every document empty or stop words only
                values[rows] = 0.0
            else:
                left, right = matrix[: len(rows)], matrix[len(rows) :]
                values[rows] = np.asarray(left.multiply(right).sum(axis=1)).ravel()
        return _thresholded(values, applies, limit, "TF-IDF cosine")

    return score
