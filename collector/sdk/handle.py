"""``SpanHandle``: what ``span()`` yields, to record input, output, usage and context.

Every method swallows its own failures (logged once): instrumentation must never raise
into the application it observes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry.trace import Span, Status, StatusCode

from . import attributes as keys

log = logging.getLogger("loopwise.sdk")


class SpanHandle:
    """A live span. Setters return nothing and never raise."""

    def __init__(
        self, span: Span, *, capture_content: bool = True, max_chars: int = keys.DEFAULT_MAX_TEXT
    ) -> None:
        self._span = span
        self._capture = capture_content
        self._max_chars = max_chars
        self._output_set = False

    @property
    def span(self) -> Span:
        """The underlying OpenTelemetry span."""
        return self._span

    @property
    def output_set(self) -> bool:
        """True once an output was recorded on this span, through this handle or another one
        (``current_span()`` makes a new handle for the same span)."""
        if self._output_set:
            return True
        attributes = getattr(self._span, "attributes", None)
        try:
            return bool(attributes) and keys.OUTPUT in attributes  # type: ignore[operator]
        except Exception:
            return False

    @property
    def trace_id(self) -> str:
        """This span's trace id as 32 hex characters."""
        return format(self._span.get_span_context().trace_id, "032x")

    @property
    def span_id(self) -> str:
        """This span's id as 16 hex characters."""
        return format(self._span.get_span_context().span_id, "016x")

    def set_input(self, value: Any) -> None:
        """Record the span's input (text as is, anything else as JSON)."""
        self._set_content(keys.INPUT, keys.INPUT_MIME, value)

    def set_output(self, value: Any) -> None:
        """Record the span's output (text as is, anything else as JSON)."""
        self._set_content(keys.OUTPUT, keys.OUTPUT_MIME, value)
        self._output_set = True

    def set_usage(
        self,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        total_tokens: int | None = None,
        model: str | None = None,
        provider: str | None = None,
        cost_usd: float | None = None,
    ) -> None:
        """Record model, provider, token counts and cost of a model call."""
        self._set_many(
            {
                keys.INPUT_TOKENS: input_tokens,
                keys.OUTPUT_TOKENS: output_tokens,
                keys.TOTAL_TOKENS: total_tokens,
                keys.MODEL: model,
                keys.PROVIDER: provider,
                keys.COST: cost_usd,
            }
        )

    def set_session(self, session_id: str) -> None:
        """Attach the span to a conversation or session."""
        self._set_many({keys.SESSION: session_id})

    def set_user(self, user_id: str) -> None:
        """Attach the span to an end user."""
        self._set_many({keys.USER: user_id})

    def set_tags(self, tags: Sequence[str]) -> None:
        """Tag the span (replaces earlier tags)."""
        try:
            values = [str(t) for t in tags]
        except Exception:
            log.debug("could not read tags", exc_info=True)
            return
        self._set_many({keys.TAGS: values})

    def set_metadata(self, **metadata: Any) -> None:
        """Attach free-form metadata, stored as a JSON object."""
        try:
            self._span.set_attribute(keys.METADATA, json.dumps(metadata, default=repr))
        except Exception:
            log.debug("could not set metadata", exc_info=True)

    def set_attribute(self, key: str, value: Any) -> None:
        """Set any raw OpenTelemetry attribute (kept verbatim in the stored span)."""
        self._set_many({key: value})

    def record_error(self, error: BaseException, *, timestamp: int | None = None) -> None:
        """Mark the span failed with this exception (type, message and stack trace);
        ``timestamp`` (ns) dates the exception event, else the current time."""
        try:
            self._span.record_exception(error, timestamp=timestamp)
            self._span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        except Exception:
            log.debug("could not record an error", exc_info=True)

    def _set_content(self, key: str, mime_key: str, value: Any) -> None:
        if not self._capture:
            return
        try:
            text, mime = keys.to_text(value, self._max_chars)
            self._span.set_attribute(key, text)
            self._span.set_attribute(mime_key, mime)
        except Exception:
            log.debug("could not record %s", key, exc_info=True)

    def _set_many(self, values: dict[str, Any]) -> None:
        try:
            self._span.set_attributes({k: v for k, v in values.items() if v is not None})
        except Exception:
            log.debug("could not set attributes", exc_info=True)
