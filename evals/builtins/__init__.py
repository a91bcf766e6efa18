"""Built-in code evaluators, vectorised over Arrow batches, one module per family.

Importing this package registers every built-in in the default registry.
"""

from ..registry import register
from .formats import json_schema, valid_json
from .identifiers import invented_identifiers
from .language import detect_language, language_mismatch
from .operational import cost_threshold, error_status, latency_threshold, token_threshold
from .pii import PII_KINDS, Finding, find_pii, luhn_valid, pii_leakage
from .reference import rouge_l, rouge_l_score, tfidf_similarity, token_f1, token_f1_score
from .refusal import REFUSAL_REGEX, refusal, refusal_mask
from .text import contains, exact_match, length_bounds, regex

BUILTINS = (
    valid_json,
    json_schema,
    regex,
    contains,
    exact_match,
    length_bounds,
    token_f1,
    rouge_l,
    tfidf_similarity,
    latency_threshold,
    token_threshold,
    cost_threshold,
    error_status,
    refusal,
    pii_leakage,
    invented_identifiers,
    language_mismatch,
)
for _declared in BUILTINS:
    register(_declared)

__all__ = [
    "BUILTINS",
    "PII_KINDS",
    "REFUSAL_REGEX",
    "Finding",
    "contains",
    "cost_threshold",
    "detect_language",
    "error_status",
    "exact_match",
    "find_pii",
    "invented_identifiers",
    "json_schema",
    "language_mismatch",
    "latency_threshold",
    "length_bounds",
    "luhn_valid",
    "pii_leakage",
    "refusal",
    "refusal_mask",
    "regex",
    "rouge_l",
    "rouge_l_score",
    "tfidf_similarity",
    "token_f1",
    "token_f1_score",
    "token_threshold",
    "valid_json",
]
