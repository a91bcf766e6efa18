"""PII and secret redaction at ingest: patterns, per-project config, and the batch pass."""

from .apply import COUNTS_KEY, JSON_COLUMNS, TEXT_COLUMNS, redact_column, redact_table
from .config import (
    ENV_VAR,
    RedactionConfig,
    RedactionConfigError,
    RedactionPolicy,
    custom_pattern,
    load_redaction,
    redaction_from_env,
    redaction_from_mapping,
)
from .patterns import (
    BUILTIN_KINDS,
    BUILTIN_PATTERNS,
    Pattern,
    is_card_number,
    luhn_valid,
    redact_cards,
)

__all__ = [
    "BUILTIN_KINDS",
    "BUILTIN_PATTERNS",
    "COUNTS_KEY",
    "ENV_VAR",
    "JSON_COLUMNS",
    "TEXT_COLUMNS",
    "Pattern",
    "RedactionConfig",
    "RedactionConfigError",
    "RedactionPolicy",
    "custom_pattern",
    "is_card_number",
    "load_redaction",
    "luhn_valid",
    "redact_cards",
    "redact_column",
    "redact_table",
    "redaction_from_env",
    "redaction_from_mapping",
]
