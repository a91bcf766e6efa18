"""The normalized span kinds (a module of its own: the SDK checks kinds without loading the
normalizer)."""

from __future__ import annotations

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
