"""Semantic conventions: OTLP spans from any client mapped into the normalized span.

Names load their module on first use (see loopwise.collector.lazy), so importing one
submodule does not load the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .fields import Resolved
    from .kinds import SPAN_KINDS
    from .logs import LogBatch, normalize_logs
    from .messages import Message, messages_in, render_text
    from .normalize import CONVENTIONS, NormalizedBatch, normalize_request, resolve_attributes

_EXPORTS: dict[str, tuple[str, ...]] = {
    ".fields": ("Resolved",),
    ".kinds": ("SPAN_KINDS",),
    ".logs": (
        "LogBatch",
        "normalize_logs",
    ),
    ".messages": (
        "Message",
        "messages_in",
        "render_text",
    ),
    ".normalize": (
        "CONVENTIONS",
        "NormalizedBatch",
        "normalize_request",
        "resolve_attributes",
    ),
}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

__all__ = [
    "CONVENTIONS",
    "SPAN_KINDS",
    "LogBatch",
    "Message",
    "NormalizedBatch",
    "Resolved",
    "messages_in",
    "normalize_logs",
    "normalize_request",
    "render_text",
    "resolve_attributes",
]
