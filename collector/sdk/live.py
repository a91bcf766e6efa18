"""``LiveSpan``: one span's lifecycle (start, make current, finish), shielded from failures.

Used by both ``span()`` and ``@observe``. If OpenTelemetry itself fails, the span degrades
to a no-op and the application carries on.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import Token
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN, Status, StatusCode

from . import attributes as keys
from .handle import SpanHandle

log = logging.getLogger("loopwise.sdk")

Clock = Callable[[], int]
_OK = Status(StatusCode.OK)


class _NoInput:
    """The type of ``NO_INPUT``."""


NO_INPUT = _NoInput()  # no input to record at the start (None is an input: JSON null)


class LiveSpan:
    """A started span that can be made current (as a ``with`` block, or once per step of a
    generator) and is ended exactly once."""

    def __init__(
        self,
        tracer: trace.Tracer,
        name: str,
        kind: str,
        *,
        clock: Clock | None,
        capture_content: bool,
        attributes: dict[str, Any] | None = None,
        input_value: Any = NO_INPUT,
    ) -> None:
        self._clock = clock
        self._token: object | None = None
        self._ended = False
        attrs = {keys.KIND: kind.upper(), **(attributes or {})}
        if capture_content and input_value is not NO_INPUT:
            # Given at the start, the input costs the span one attribute update, not three.
            try:
                attrs[keys.INPUT], attrs[keys.INPUT_MIME] = keys.to_text(input_value)
            except Exception:
                log.debug("could not record %s", keys.INPUT, exc_info=True)
        try:
            start = clock() if clock else None
            span = tracer.start_span(name, attributes=attrs, start_time=start)
        except Exception:
            log.debug("could not start span %r", name, exc_info=True)
            span = INVALID_SPAN
        self.handle = SpanHandle(span, capture_content=capture_content)

    @contextlib.contextmanager
    def current(self) -> Iterator[SpanHandle]:
        """Make this span the current one for the duration of the block."""
        token = self.attach()
        try:
            yield self.handle
        finally:
            self.detach(token)

    def attach(self) -> Token[Context] | None:
        """Make this span the current one until ``detach(token)``; returns the token."""
        try:
            return otel_context.attach(trace.set_span_in_context(self.handle.span))
        except Exception:
            log.debug("could not attach span context", exc_info=True)
            return None

    def detach(self, token: Token[Context] | None) -> None:
        """Restore the context that was current before ``attach`` returned ``token``."""
        if token is not None:
            try:
                otel_context.detach(token)
            except Exception:
                log.debug("could not detach span context", exc_info=True)

    def fail(self, error: BaseException) -> None:
        """Record an exception that escaped the observed code."""
        if isinstance(error, GeneratorExit | StopIteration | StopAsyncIteration):
            return
        try:
            timestamp = self._clock() if self._clock else None
        except Exception:
            timestamp = None
        self.handle.record_error(error, timestamp=timestamp)

    def end(self) -> None:
        """End the span (once)."""
        if self._ended:
            return
        self._ended = True
        try:
            span = self.handle.span
            if (
                span.is_recording()
                and getattr(span, "status", None) is not None
                and span.status.status_code == StatusCode.UNSET  # type: ignore[attr-defined]
            ):
                span.set_status(_OK)
            span.end(end_time=self._clock() if self._clock else None)
        except Exception:
            log.debug("could not end span", exc_info=True)


class SpanContext:
    """What ``span()`` returns: use it with ``with`` or ``async with``; it yields a SpanHandle."""

    def __init__(self, factory: Callable[[], LiveSpan]) -> None:
        self._factory = factory
        self._live: LiveSpan | None = None
        self._scope: contextlib.AbstractContextManager[SpanHandle] | None = None

    def __enter__(self) -> SpanHandle:
        self._live = self._factory()
        self._scope = self._live.current()
        return self._scope.__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._live is not None and self._scope is not None
        if exc is not None:
            self._live.fail(exc)
        self._scope.__exit__(None, None, None)
        self._live.end()

    async def __aenter__(self) -> SpanHandle:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
