"""The SDK client: configuration, the tracer provider, ``span()``, ``@observe``, flushing.

Module-level functions in ``loopwise`` are bound to one default ``Client``; create more
clients for tests or for several projects in one process.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator

from ..credentials import auth_headers
from . import attributes as keys
from .exporters import LocalStoreExporter, SpoolingExporter
from .feedback import FeedbackSender, feedback_sender
from .handle import SpanHandle
from .live import NO_INPUT, Clock, LiveSpan, SpanContext
from .observe import observe_function
from .prompt_template import Prompt
from .prompts import DEFAULT_TTL_S, PromptFetcher, default_prompt_cache_dir

log = logging.getLogger("loopwise.sdk")

DEFAULT_ENDPOINT = "http://127.0.0.1:4318"
Mode = Literal["otlp", "local"]
F = TypeVar("F", bound=Callable[..., Any])


# Clients to flush at interpreter exit. Weak, so a short-lived client is not kept alive.
_LIVE_CLIENTS: weakref.WeakSet[Client] = weakref.WeakSet()


@atexit.register
def _shutdown_live_clients() -> None:
    for client in list(_LIVE_CLIENTS):
        client.shutdown()


def _default_spool_dir(project: str) -> Path:
    base = os.environ.get("LOOPWISE_SPOOL_DIR") or Path.home() / ".cache" / "loopwise" / "spool"
    return Path(base) / "".join(c if c.isalnum() or c in "-_." else "_" for c in project)


class Client:
    """Traces one application. Until ``init`` runs, spans go to the global OpenTelemetry
    provider (a no-op unless the app configured one)."""

    def __init__(self) -> None:
        self._provider: TracerProvider | None = None
        self._tracer: trace.Tracer = trace.get_tracer("loopwise")
        self._clock: Clock | None = None
        self._capture_content = True
        self._lock = threading.Lock()
        self.project = "default"
        self.exporter: SpanExporter | None = None
        # Where the collector's API is (None in local mode): held outputs are sent there.
        self.endpoint: str | None = None
        self.api_key: str | None = None
        self.local_db: Path | None = None
        self._prompts = PromptFetcher()
        self._feedback = FeedbackSender(None)

    def init(
        self,
        project: str = "default",
        *,
        endpoint: str | None = None,
        mode: Mode | None = None,
        db: str | Path | None = None,
        api_key: str | None = None,
        service_name: str | None = None,
        exporter: SpanExporter | None = None,
        batch: bool = True,
        id_generator: IdGenerator | None = None,
        clock: Clock | None = None,
        spool_dir: str | Path | None = None,
        capture_content: bool = True,
        set_global: bool = True,
        prompt_cache_dir: str | Path | None = None,
    ) -> None:
        """Configure tracing for ``project``.

        ``mode="otlp"`` (default) exports in a background batch to ``endpoint`` (default
        ``$LOOPWISE_ENDPOINT`` or http://127.0.0.1:4318), spooling to disk while the collector
        is away. ``mode="local"`` writes into the DuckDB file ``db`` with no collector. Pass
        ``exporter`` to send spans anywhere else (``batch=False`` exports as each span ends),
        and ``id_generator``/``clock`` for deterministic tests. With ``set_global`` and no
        global OpenTelemetry provider yet, this one becomes global, so other instrumentation
        in the process exports through it too. ``prompt()`` reads the registry where spans
        go (with a custom ``exporter``, only an explicit ``endpoint``) and caches prompts in
        ``prompt_cache_dir`` (default ``$LOOPWISE_PROMPT_CACHE`` or ~/.cache/loopwise/prompts).
        """
        with self._lock:
            self._shutdown_provider()
            self.project = project
            self._clock = clock
            self._capture_content = capture_content
            chosen = exporter or self._make_exporter(
                project, endpoint, mode, db, api_key, spool_dir
            )
            self._prompts.close()
            self._prompts = self._make_prompt_fetcher(
                project, endpoint, mode, db, api_key, exporter, prompt_cache_dir
            )
            local = (
                exporter is None and (mode or ("local" if db is not None else "otlp")) == "local"
            )
            self.local_db = (
                Path(db or os.environ.get("LOOPWISE_DB") or ".loopwise/loopwise.duckdb")
                if local
                else None
            )
            self.endpoint = (
                None
                if local or (exporter is not None and endpoint is None)
                else (endpoint or os.environ.get("LOOPWISE_ENDPOINT") or DEFAULT_ENDPOINT)
            )
            self.api_key = api_key or os.environ.get("LOOPWISE_API_KEY")
            self._feedback.close()
            self._feedback = self._make_feedback_sender(
                project, endpoint, mode, db, api_key, exporter, spool_dir
            )
            resource = Resource.create(
                {"service.name": service_name or project, keys.PROJECT_RESOURCE: project}
            )
            provider = TracerProvider(resource=resource, id_generator=id_generator)
            processor = (
                BatchSpanProcessor(chosen, max_queue_size=32768, schedule_delay_millis=1000)
                if batch
                else SimpleSpanProcessor(chosen)
            )
            provider.add_span_processor(processor)
            self._provider = provider
            self.exporter = chosen
            self._tracer = provider.get_tracer("loopwise")
            if set_global and isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
                trace.set_tracer_provider(provider)
            _LIVE_CLIENTS.add(self)

    @staticmethod
    def _make_exporter(
        project: str,
        endpoint: str | None,
        mode: Mode | None,
        db: str | Path | None,
        api_key: str | None,
        spool_dir: str | Path | None,
    ) -> SpanExporter:
        mode = mode or ("local" if db is not None else "otlp")
        if mode == "local":
            path = Path(db or os.environ.get("LOOPWISE_DB") or ".loopwise/loopwise.duckdb")
            return LocalStoreExporter(path, project=project)
        if mode != "otlp":
            raise ValueError(f"mode must be 'otlp' or 'local', got {mode!r}")
        url = endpoint or os.environ.get("LOOPWISE_ENDPOINT") or DEFAULT_ENDPOINT
        key = api_key or os.environ.get("LOOPWISE_API_KEY")
        spool = Path(spool_dir) if spool_dir else _default_spool_dir(project)
        return SpoolingExporter(url, spool, headers=auth_headers(key))

    @staticmethod
    def _make_feedback_sender(
        project: str,
        endpoint: str | None,
        mode: Mode | None,
        db: str | Path | None,
        api_key: str | None,
        exporter: SpanExporter | None,
        spool_dir: str | Path | None,
    ) -> FeedbackSender:
        local = exporter is None and (mode or ("local" if db is not None else "otlp")) == "local"
        if exporter is None and not local:
            endpoint = endpoint or os.environ.get("LOOPWISE_ENDPOINT") or DEFAULT_ENDPOINT
        return feedback_sender(
            project,
            endpoint=endpoint,
            local_db=(
                Path(db or os.environ.get("LOOPWISE_DB") or ".loopwise/loopwise.duckdb")
                if local
                else None
            ),
            api_key=api_key or os.environ.get("LOOPWISE_API_KEY"),
            exporter=exporter,
            spool_dir=(Path(spool_dir) if spool_dir else _default_spool_dir(project)) / "feedback",
        )

    def feedback(
        self,
        trace_id: str | int,
        name: str,
        value: bool | float | str,
        comment: str | None = None,
        *,
        user_id: str | None = None,
        span_id: str | int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Record an end user's feedback on a trace: ``value`` True/False (thumbs up/down),
        a number (a rating) or a text label, with an optional ``comment``.

        Returns at once and never raises: the feedback is checked, queued and delivered in
        the background where spans go (the collector, or the file in local mode), spooled
        to disk while the collector is away. Bad feedback is dropped with a warning.
        """
        self._feedback.send(
            trace_id, name, value, comment, user_id=user_id, span_id=span_id, metadata=metadata
        )

    def _make_prompt_fetcher(
        self,
        project: str,
        endpoint: str | None,
        mode: Mode | None,
        db: str | Path | None,
        api_key: str | None,
        exporter: SpanExporter | None,
        cache_dir: str | Path | None,
    ) -> PromptFetcher:
        cache = Path(cache_dir) if cache_dir else default_prompt_cache_dir(project)
        key = api_key or os.environ.get("LOOPWISE_API_KEY")
        if exporter is not None:  # spans go elsewhere: only an explicit endpoint serves prompts
            return PromptFetcher(
                endpoint=endpoint,
                api_key=key,
                cache_dir=cache if endpoint else None,
                capture_content=self._capture_content,
            )
        if (mode or ("local" if db is not None else "otlp")) == "local":
            path = Path(db or os.environ.get("LOOPWISE_DB") or ".loopwise/loopwise.duckdb")
            return PromptFetcher(db=path, cache_dir=cache, capture_content=self._capture_content)
        url = endpoint or os.environ.get("LOOPWISE_ENDPOINT") or DEFAULT_ENDPOINT
        return PromptFetcher(
            endpoint=url, api_key=key, cache_dir=cache, capture_content=self._capture_content
        )

    def prompt(
        self,
        name: str,
        *,
        label: str | None = None,
        version: int | None = None,
        fallback: str | None = None,
        cache_ttl_s: float = DEFAULT_TTL_S,
    ) -> Prompt:
        """The registered prompt ``name``: ``version``, else the one labelled ``label``
        (default ``production``; ``latest`` is the newest version).

        Served from memory for ``cache_ttl_s``; when the registry is away, from the last copy
        fetched (in memory, then on disk), else from ``fallback`` (a template string).
        ``prompt.format(**variables)`` renders it and records the prompt's name and version on
        the current span. Raises PromptUnavailable only when none of these can answer.
        """
        return self._prompts.get(
            name, label=label, version=version, fallback=fallback, cache_ttl_s=cache_ttl_s
        )

    def span(self, name: str, *, kind: str = "chain", **attributes: Any) -> SpanContext:
        """A span around a block: ``with span("retrieve", kind="retriever") as s: ...``.

        Works with ``async with`` too. Extra keyword arguments become raw attributes.
        """
        checked = keys.check_kind(kind)
        return SpanContext(lambda: self._new_span(name, checked, attributes))

    @overload
    def observe(self, fn: F) -> F: ...

    @overload
    def observe(
        self,
        fn: None = None,
        *,
        name: str | None = None,
        kind: str = "chain",
        capture_input: bool = True,
        capture_output: bool = True,
        ignore_input: Collection[str] = (),
    ) -> Callable[[F], F]: ...

    def observe(
        self,
        fn: F | None = None,
        *,
        name: str | None = None,
        kind: str = "chain",
        capture_input: bool = True,
        capture_output: bool = True,
        ignore_input: Collection[str] = (),
    ) -> F | Callable[[F], F]:
        """Trace every call of a function as a span of ``kind`` with its arguments as input
        and its return value (or yielded items) as output. Exceptions are recorded on the
        span and re-raised unchanged.

        The input holds the arguments that are data (JSON values, dataclasses, pydantic
        models), by parameter name; others (clients, generators) are left out, as are the
        parameters named in ``ignore_input``; ``capture_input=False`` records none."""
        checked = keys.check_kind(kind)

        def decorate(func: F) -> F:
            return observe_function(
                func,
                lambda span_name, value: self._new_span(span_name, checked, None, value),
                name=name,
                capture_input=capture_input,
                capture_output=capture_output,
                ignore_input=ignore_input,
            )

        return decorate(fn) if fn is not None else decorate

    def current_span(self) -> SpanHandle:
        """The span that is current here (a no-op handle when there is none)."""
        return SpanHandle(trace.get_current_span(), capture_content=self._capture_content)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Export every finished span, then queued feedback; True when everything was
        handed over."""
        provider = self._provider
        spans_done = True
        if provider is not None:
            try:
                spans_done = provider.force_flush(int(timeout_s * 1000))
            except Exception:
                log.debug("flush failed", exc_info=True)
                spans_done = False
        return self._feedback.flush(timeout_s) and spans_done

    def shutdown(self) -> None:
        """Flush and stop exporting (runs at interpreter exit too)."""
        with self._lock:
            self._shutdown_provider()
            self._feedback.close()
            self._prompts.close()

    def _shutdown_provider(self) -> None:
        if self._provider is not None:
            try:
                self._provider.shutdown()
            except Exception:
                log.debug("shutdown failed", exc_info=True)
            self._provider = None
            self._tracer = trace.get_tracer("loopwise")

    def _new_span(
        self, name: str, kind: str, attributes: dict[str, Any] | None, input_value: Any = NO_INPUT
    ) -> LiveSpan:
        return LiveSpan(
            self._tracer,
            name,
            kind,
            clock=self._clock,
            capture_content=self._capture_content,
            attributes=attributes,
            input_value=input_value,
        )
