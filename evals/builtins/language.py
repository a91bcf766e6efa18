"""Language mismatch: the answer is in a different language from the question.

The detector is deliberately small: it counts stop words of seven Latin-script languages
(en, es, fr, de, it, pt, nl; see ``stopwords.py``) and names a language only with enough
evidence (at least ``MIN_HITS`` stop words and a clear lead over the runner-up). Short
texts, code, JSON and other languages stay undetermined and are not scored; it is a
guard against "answered a Spanish customer in English", not a general language identifier.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..declare import evaluator
from ..score import BatchScores
from .columns import column
from .stopwords import PROFILES

MIN_HITS = 4
LEAD = 1.5
MAX_CHARS = 2000
LANGUAGES = tuple(PROFILES)
# Split on whitespace, then trim these from each word (faster than a regex split).
_PUNCTUATION = (
    ".,!?;:'\"()[]{}<>*-_/\\|#@$%&+=~`^0123456789\u00bf\u00a1\u00ab\u00bb\u201c\u201d\u2018\u2019"
)
_VOCABULARY = sorted(set().union(*PROFILES.values()))
_VOCAB_ARRAY = pa.array(_VOCABULARY)
# For each vocabulary word, one bit per language whose profile holds it.
_BITS = np.array(
    [sum(1 << i for i, lang in enumerate(LANGUAGES) if w in PROFILES[lang]) for w in _VOCABULARY],
    dtype=np.int64,
)


def detect_languages(texts: pa.Array | pa.ChunkedArray) -> list[str | None]:
    """The language of each text (see ``detect_language``), vectorised over Arrow: words are
    split, looked up in the stop-word vocabulary and counted per language in NumPy."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    rows = len(texts)
    if rows == 0:
        return []
    lowered = pc.utf8_lower(pc.utf8_slice_codeunits(texts, 0, MAX_CHARS))
    words = pc.utf8_split_whitespace(lowered)
    flat = pc.utf8_trim(pc.list_flatten(words), characters=_PUNCTUATION)
    parents = pc.list_parent_indices(words).to_numpy()
    found = pc.index_in(flat, value_set=_VOCAB_ARRAY)
    hit = np.asarray(pc.is_valid(found).to_numpy(zero_copy_only=False), dtype=bool)
    bits = _BITS[np.asarray(pc.fill_null(found, 0).to_numpy(zero_copy_only=False))[hit]]
    hit_rows = parents[hit]
    counts = np.stack(
        [
            np.bincount(hit_rows[(bits >> i) & 1 == 1], minlength=rows)
            for i in range(len(LANGUAGES))
        ],
        axis=1,
    )
    nonempty = np.asarray(pc.greater(pc.utf8_length(flat), 0).to_numpy(zero_copy_only=False))
    total_words = np.bincount(parents[nonempty], minlength=rows)
    ordered = np.sort(counts, axis=1)
    best, runner_up = ordered[:, -1], ordered[:, -2]
    winner = np.argmax(counts, axis=1)
    sure = (total_words >= MIN_HITS) & (best >= MIN_HITS) & (best >= LEAD * runner_up)
    return [
        LANGUAGES[w] if ok else None for w, ok in zip(winner.tolist(), sure.tolist(), strict=True)
    ]


def detect_language(text: str | None) -> str | None:
    """The language code (en, es, fr, de, it, pt, nl) of ``text``, or None when unsure:
    at least ``MIN_HITS`` stop words and ``LEAD`` times more than the runner-up language."""
    return detect_languages(pa.array([text], pa.string()))[0]


@evaluator(name="language_mismatch", needs_context=True)
def language_mismatch(spans: pa.Table) -> BatchScores:
    """Fails when the output's language differs from the user's (the trace's root input,
    else the span's input); scores only rows where both languages are determined. Value 1
    when they match, 0 when not."""
    answers = detect_languages(column(spans, "output"))
    asked_text = pc.coalesce(column(spans, "root_input"), column(spans, "input"))
    questions = detect_languages(asked_text)
    applies = np.array(
        [a is not None and q is not None for a, q in zip(answers, questions, strict=True)]
    )
    passed = np.array([a == q for a, q in zip(answers, questions, strict=True)], dtype=bool)
    passed |= ~applies
    explanation: list[str | None] = [None] * spans.num_rows
    for i in np.flatnonzero(~passed):
        explanation[i] = f"asked in {questions[i]}, answered in {answers[i]}"
    return BatchScores(
        passed=passed,
        value=passed.astype(float),
        applies=applies,
        label=[a if ok else None for a, ok in zip(answers, applies, strict=True)],
        explanation=explanation,
    )
