"""Semantic conventions: OTLP spans from any client mapped into the normalized span."""

from .fields import SPAN_KINDS, Resolved
from .logs import LogBatch, normalize_logs
from .messages import Message, messages_in, render_text
from .normalize import CONVENTIONS, NormalizedBatch, normalize_request, resolve_attributes

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
