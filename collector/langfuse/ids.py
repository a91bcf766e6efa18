"""loopwise ids for Langfuse's: Langfuse ids are any text (usually UUIDs), loopwise trace and
span ids are 32 and 16 hex digits, as OpenTelemetry's.

An id that already is hex of the right length (the OTel ids the Langfuse SDK v3 and later
use, or a UUID without dashes for a trace) is kept, lowercased, so a score or an observation
naming it reaches the same span whichever API sent it. Any other id is hashed (SHA-256, cut
to length), so the same Langfuse id always gives the same loopwise id: a resent event lands
on the row it made before, and ``parentObservationId`` names its parent's span id. The
original ids stay readable in the span's attributes (``langfuse.trace.id``,
``langfuse.observation.id``, ``langfuse.observation.parent_id``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ..store.langfuse_scores import LangfuseScoreError

_HEX = frozenset("0123456789abcdef")


def trace_hex(langfuse_id: str) -> str:
    """The loopwise trace id (32 hex digits) of a Langfuse trace id."""
    return _hex(langfuse_id, 32, b"langfuse trace\x00")


def observation_hex(langfuse_id: str) -> str:
    """The loopwise span id (16 hex digits) of a Langfuse observation id."""
    return _hex(langfuse_id, 16, b"langfuse observation\x00")


def root_span_hex(trace_id: str) -> str:
    """The span id of the root span that stands for a Langfuse trace (``trace_id``: the
    loopwise trace id); its observations without a parent are its children."""
    return hashlib.sha256(b"langfuse trace root\x00" + trace_id.encode()).hexdigest()[:16]


def _hex(langfuse_id: str, length: int, salt: bytes) -> str:
    lowered = langfuse_id.lower()
    if len(lowered) == length and set(lowered) <= _HEX and lowered.strip("0"):
        return lowered
    digest = hashlib.sha256(salt + langfuse_id.encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:length] if digest[:length].strip("0") else "1".rjust(length, "0")


def map_score_ids(item: Mapping[str, Any]) -> dict[str, Any]:
    """A Langfuse score object with its ``traceId``/``observationId`` mapped as the spans'
    ids are (hex ids kept, others hashed); a mapped original goes to the score's metadata."""
    mapped = dict(item)
    extra: dict[str, Any] = {}
    for key, to_hex in (("traceId", trace_hex), ("observationId", observation_hex)):
        value = mapped.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise LangfuseScoreError(f"{key} must be non-empty text")
        mapped[key] = to_hex(value)
        if mapped[key] != value.lower():
            extra[f"langfuse.{key}"] = value
    metadata = mapped.get("metadata")
    if extra and (metadata is None or isinstance(metadata, dict)):
        mapped["metadata"] = {**(metadata or {}), **extra}
    return mapped
