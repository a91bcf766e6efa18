"""Semantic conventions: OTLP spans from any client mapped into the normalized span."""

from .fields import SPAN_KINDS, Resolved
from .normalize import NormalizedBatch, normalize_request, resolve_attributes

__all__ = ["SPAN_KINDS", "NormalizedBatch", "Resolved", "normalize_request", "resolve_attributes"]
