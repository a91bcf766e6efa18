"""The normalized span fields a semantic convention can fill, and helpers to read attributes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

SPAN_KINDS = (
    "llm",
    "chain",
    "tool",
    "agent",
    "retriever",
    "embedding",
    "evaluator",
    "guardrail",
    "other",
)

INT64_MAX = 2**63 - 1


@dataclass(slots=True)
class Resolved:
    """The normalized fields of one span, filled by the conventions in priority order.

    Each convention fills only fields still ``None`` (first convention wins) and skips the
    work for fields already resolved.
    """

    kind: str | None = None
    model: str | None = None
    provider: str | None = None
    input: str | None = None
    output: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cost_usd: float | None = None
    session_id: str | None = None
    user_id: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def first_str(attrs: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """Return the first non-empty value among ``keys`` as text."""
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return value if isinstance(value, str) else str(value)
    return None


def first_int(attrs: dict[str, Any], keys: tuple[str, ...], warnings: list[str]) -> int | None:
    """Return the first of ``keys`` readable as a non-negative integer, noting unreadable ones."""
    for key in keys:
        value = attrs.get(key)
        if value is None:
            continue
        try:
            number = int(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError, OverflowError):  # OverflowError: float infinity
            number = None
        if number is None or not 0 <= number <= INT64_MAX:  # the column is a BIGINT
            warnings.append(f"{key}: not a non-negative integer: {value!r:.80}")
            continue
        return number
    return None


def first_float(attrs: dict[str, Any], keys: tuple[str, ...], warnings: list[str]) -> float | None:
    """Return the first of ``keys`` readable as a non-negative float, noting unreadable ones."""
    for key in keys:
        value = attrs.get(key)
        if value is None:
            continue
        try:
            number = float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or number < 0 or not math.isfinite(number):
            warnings.append(f"{key}: not a non-negative number: {value!r:.80}")
            continue
        return number
    return None


def string_list(value: Any) -> list[str]:
    """Return ``value`` as a list of strings (a JSON array string is parsed)."""
    if value is None:
        return []
    if isinstance(value, str):
        from .values import parse_json_text

        parsed = parse_json_text(value)
        if isinstance(parsed, list):
            return [str(item) for item in parsed]
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)]
