"""Recording the judge's own calls as ``evaluator`` spans through the loopwise SDK.

Inside the collector (or an offline run that owns the file) there is no endpoint to send
spans to: ``SinkExporter`` normalizes finished spans exactly as the collector does and
hands the Arrow batch to a sink (the collector's writer, or ``Store.append_spans``).
``TracerPool`` keeps one SDK client per project so judge spans land in the project of the
span they judged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from loopwise.collector.sdk import Client
from loopwise.collector.semconv import normalize_request

log = logging.getLogger(__name__)

MAX_PROJECTS = 256


class SinkExporter(SpanExporter):
    """Normalizes finished spans and passes the rows to ``sink``."""

    def __init__(self, sink: Callable[[pa.Table], Any], project: str) -> None:
        self._sink = sink
        self._project = project

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Normalize and hand over; never raises."""
        try:
            table = normalize_request(encode_spans(spans), default_project=self._project).table
            self._sink(table)
        except Exception:
            log.warning("could not record %d evaluator span(s)", len(spans), exc_info=True)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release."""


class TracerPool:
    """SDK clients per project, all exporting into one sink; call it with a project."""

    def __init__(self, sink: Callable[[pa.Table], Any], *, service_name: str = "loopwise-evals"):
        self._sink = sink
        self._service = service_name
        self._clients: dict[str, Client] = {}
        self._lock = threading.Lock()

    def __call__(self, project: str) -> Client:
        with self._lock:
            client = self._clients.get(project)
            if client is None:
                if len(self._clients) >= MAX_PROJECTS:
                    project = "loopwise-evals"
                    client = self._clients.get(project)
                if client is None:
                    client = Client()
                    client.init(
                        project,
                        exporter=SinkExporter(self._sink, project),
                        batch=False,
                        set_global=False,
                        service_name=self._service,
                    )
                    self._clients[project] = client
            return client

    def shutdown(self) -> None:
        """Shut every client down."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.shutdown()
