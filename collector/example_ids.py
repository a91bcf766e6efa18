"""The one id scheme for dataset examples, below evals and feedback: a JSONL file gets the
same ids through ``loopwise dataset import`` as through ``loopwise eval run``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def example_id(
    input: Any,
    expected: Any = None,
    metadata: Mapping[str, Any] | None = None,
    source_trace_id: str | None = None,
    source_span_id: str | None = None,
) -> str:
    """``ex_`` and 24 hex characters of the SHA-256 of the example as canonical JSON (sorted
    keys, no spaces): the same example always has the same id. TypeError or ValueError for
    values JSON cannot hold."""
    text = json.dumps(
        [input, expected, dict(metadata or {}), source_trace_id, source_span_id],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return "ex_" + hashlib.sha256(text.encode()).hexdigest()[:24]
