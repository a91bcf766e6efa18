"""The slow path of redaction, in Python: validated patterns (cards) on candidate texts, and
JSON values redone on their decoded form when textual replacement would break them."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from .patterns import Pattern


def redact_python(text: str, compiled: re.Pattern[str], pattern: Pattern) -> tuple[str, int]:
    """``text`` with ``pattern`` applied by Python's ``re`` (``compiled`` is its regex in the
    right variant), each candidate rewritten by ``pattern.validate``; and how many matched."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        head = (match.group(1) or "") + (match.group(2) or "")
        body = match.group(0)[len(head) :]
        if pattern.validate is None:
            count += 1
            return head + pattern.replacement
        text, n = pattern.validate(body, pattern.replacement)
        count += n
        return head + text

    return compiled.sub(replace, text), count


def redact_json_text(
    text: str | None, patterns: Sequence[Pattern]
) -> tuple[str | None, dict[str, int]]:
    """A JSON document redacted value by value (strings, object keys, and integers that are
    card numbers); its counts per kind. Text that is not JSON becomes null."""
    if text is None:
        return None, {}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None, {}
    counts: dict[str, int] = {}
    redacted = _walk(value, patterns, counts)
    return json.dumps(redacted, ensure_ascii=False, separators=(",", ":")), counts


def redact_text(text: str, patterns: Sequence[Pattern], counts: dict[str, int]) -> str:
    """Plain text with every pattern applied in order (Python's ``re``); counts added up."""
    for pattern in patterns:
        text, n = redact_python(text, pattern.python(json=False), pattern)
        if n:
            counts[pattern.kind] = counts.get(pattern.kind, 0) + n
    return text


def _walk(value: Any, patterns: Sequence[Pattern], counts: dict[str, int]) -> Any:
    if isinstance(value, str):
        return redact_text(value, patterns, counts)
    if isinstance(value, list):
        return [_walk(item, patterns, counts) for item in value]
    if isinstance(value, dict):
        return {
            redact_text(str(key), patterns, counts): _walk(item, patterns, counts)
            for key, item in value.items()
        }
    if isinstance(value, int) and not isinstance(value, bool):
        digits = str(value)
        replaced = redact_text(digits, patterns, counts)
        return value if replaced == digits else replaced
    return value
