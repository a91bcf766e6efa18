"""Merging patches into a span's stored attributes, in any order, any number of times.

Langfuse treats a create and its updates as upserts of one observation; events may arrive
in one request or several, an update before its create, and an SDK resends a batch it got
no answer for. So a span's attributes are a map whose every key remembers when it was last
set (``langfuse.ingestion.clock``: key → the setting event's stamp, ``Patch.clock``): a
patch sets a key only when it is strictly newer than the value there, and the smallest and
largest values seen (``Patch.lows``/``highs``: first seen, a root's observation times) are
kept whatever the order. Merging is therefore commutative and idempotent: the same events
give the same attributes whichever way they arrive, and an event merged twice changes
nothing (which is how a resent batch is recognized and left alone).
"""

from __future__ import annotations

from typing import Any

from .patches import Patch

CLOCK = "langfuse.ingestion.clock"


def apply(state: dict[str, Any], patch: Patch) -> dict[str, Any]:
    """``state`` (a span's attributes, not changed) with ``patch`` merged in."""
    merged = dict(state)
    stored_clock = state.get(CLOCK)
    clock: dict[str, Any] = dict(stored_clock) if isinstance(stored_clock, dict) else {}
    for key, value in patch.values.items():
        stamp = clock.get(key)
        if not isinstance(stamp, str) or stamp < patch.clock:
            merged[key] = value
            clock[key] = patch.clock
    for key, low in patch.lows.items():
        current = merged.get(key)
        if not isinstance(current, str) or low < current:
            merged[key] = low
    for key, high in patch.highs.items():
        current = merged.get(key)
        if not isinstance(current, str) or high > current:
            merged[key] = high
    merged[CLOCK] = clock
    return merged


def is_ingested(state: dict[str, Any]) -> bool:
    """True when stored attributes were written by this ingestion (they carry its clock),
    so patches may merge into them."""
    return isinstance(state.get(CLOCK), dict)
