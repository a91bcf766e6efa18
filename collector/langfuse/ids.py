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
