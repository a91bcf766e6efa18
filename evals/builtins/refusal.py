"""Refusal detection: the model declined instead of answering.

First-person refusal phrasings ("I'm sorry, but I can't help with that", "As an AI
assistant, I'm not able to...", "I must decline") in the first 400 characters, matched
with RE2 over the whole batch at once. Apologies that go on to help ("I'm sorry for the
wait, here is...") and policy statements ("we cannot merge accounts") are not refusals.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..declare import evaluator
from ..score import BatchScores
from .columns import column, present, regex_mask

HEAD_CHARS = 400
_APOS = "['\u2019]"  # straight or typographic apostrophe
_CANNOT = (
    rf"(?:can{_APOS}?t|cannot|can not|won{_APOS}?t|will not|am unable to|{_APOS}m unable to|"
    rf"am not able to|{_APOS}m not able to|am not allowed to|{_APOS}m not allowed to|"
    rf"am not permitted to|{_APOS}m not permitted to|must decline to|have to decline to)"
)
_ACTS = (
    r"(?:help|assist|comply|provide|do that|do this|fulfil|fulfill|answer|support you with|"
    r"engage|discuss|share|process (?:this|that|your) request|respond)"
)
REFUSAL_PATTERNS = (
    rf"\bI {_CANNOT} {_ACTS}\b",
    rf"\bI{_APOS}?m (?:sorry|afraid),? (?:but )?I {_CANNOT}\b",
    r"\bI am (?:sorry|afraid),? (?:but )?I (?:can|cannot|am unable|will not)\b",
    r"\bas an ai(?: language model| assistant| model)?\b",
    r"\bI (?:must|have to|need to) (?:respectfully )?decline\b",
    r"\b(?:unable|not able) to (?:help|assist) (?:you )?with (?:that|this|your request)\b",
    rf"\bI{_APOS}?m not (?:able|allowed|permitted) to (?:help|assist|provide|share|discuss)\b",
)
REFUSAL_REGEX = "(?i)(?:" + "|".join(REFUSAL_PATTERNS) + ")"


def refusal_mask(outputs: pa.Array) -> np.ndarray:
    """True where the text opens with a refusal."""
    head = pc.utf8_slice_codeunits(outputs, 0, HEAD_CHARS)
    return regex_mask(head, REFUSAL_REGEX)


@evaluator(name="refusal")
def refusal(spans: pa.Table) -> BatchScores:
    """Fails outputs that refuse instead of answering (label ``refusal`` vs ``answer``;
    value 1 for an answer, 0 for a refusal)."""
    outputs = column(spans, "output")
    refused = refusal_mask(outputs)
    explanation: list[str | None] = [None] * spans.num_rows
    for i in np.flatnonzero(refused):
        first_line = (outputs[int(i)].as_py() or "").strip().splitlines()[0][:160]
        explanation[i] = f"the model refused: {first_line!r}"
    return BatchScores(
        passed=~refused,
        value=(~refused).astype(float),
        applies=present(outputs),
        label=np.where(refused, "refusal", "answer"),
        explanation=explanation,
    )
