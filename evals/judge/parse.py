"""A tolerant reader of judge replies, for models that ignore the JSON schema.

Accepts: plain JSON; JSON in a code fence; JSON with prose around it; Python-style
single quotes and True/False/None; trailing commas. Rejects (with a reason): no object at
all, a truncated object, a label outside the template's labels, a score outside [0, 1].
It never guesses a verdict, so a malformed reply can only become an errored score.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from typing import Any

from .templates import JudgeTemplate

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
LABEL_KEYS = ("label", "verdict", "judgement", "judgment", "classification")
EXPLANATION_KEYS = ("explanation", "reason", "reasoning", "rationale")


class JudgeReplyError(ValueError):
    """The judge's reply could not be read as a verdict; the message says why."""


@dataclass(frozen=True)
class Verdict:
    """A judge's verdict, checked against its template."""

    label: str
    score: float | None
    explanation: str
    passed: bool


def extract_object(text: str) -> dict[str, Any]:
    """The first JSON-like object in ``text`` (see the module docstring for what is
    tolerated); raises JudgeReplyError when there is none."""
    if not isinstance(text, str) or not text.strip():
        raise JudgeReplyError("the judge replied with no text")
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    truncated = False
    for candidate in candidates:
        block = _first_braced(candidate)
        if block is None:
            truncated = truncated or "{" in candidate
            continue
        parsed = _parse_lenient(block)
        if isinstance(parsed, dict):
            return parsed
    if truncated:
        raise JudgeReplyError("the judge's JSON reply is truncated (no closing brace)")
    raise JudgeReplyError(f"no JSON object in the judge's reply: {text[:120]!r}")


def _first_braced(text: str) -> str | None:
    """The first balanced ``{...}`` block (quotes respected), or None when unbalanced."""
    start = text.find("{")
    if start == -1:
        return None
    depth = 0
    quote: str | None = None
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start : index + 1]
    return None


def _parse_lenient(block: str) -> Any:
    attempts = (block, _TRAILING_COMMA.sub(r"\1", block))
    for attempt in attempts:
        try:
            return json.loads(attempt)
        except ValueError:
            pass
    python_like = _TRAILING_COMMA.sub(r"\1", block)
    python_like = re.sub(r"\btrue\b", "True", python_like)
    python_like = re.sub(r"\bfalse\b", "False", python_like)
    python_like = re.sub(r"\bnull\b", "None", python_like)
    try:
        return ast.literal_eval(python_like)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def parse_verdict(text: str, template: JudgeTemplate) -> Verdict:
    """Read and check a verdict for ``template``; raises JudgeReplyError when malformed."""
    obj = extract_object(text)
    lowered = {str(k).lower(): v for k, v in obj.items()}
    raw_label = next((lowered[k] for k in LABEL_KEYS if k in lowered), None)
    if not isinstance(raw_label, str) or not raw_label.strip():
        raise JudgeReplyError(f"the judge's reply has no label (expected one of {template.labels})")
    label = raw_label.strip().lower().replace("-", "_").replace(" ", "_")
    if label not in template.labels:
        raise JudgeReplyError(
            f"the judge answered label {raw_label[:60]!r}, not one of {', '.join(template.labels)}"
        )
    score = _score(lowered.get("score"))
    explanation = next((lowered[k] for k in EXPLANATION_KEYS if k in lowered), "")
    if not isinstance(explanation, str):
        explanation = json.dumps(explanation, ensure_ascii=False)
    return Verdict(label, score, explanation.strip()[:2000], label in template.passing)


def _score(raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise JudgeReplyError("the judge's score must be a number from 0 to 1, got a boolean")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise JudgeReplyError(f"the judge's score {str(raw)[:40]!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise JudgeReplyError(f"the judge's score {value} is outside [0, 1]")
    return value
