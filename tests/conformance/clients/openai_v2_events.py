"""The openai client under the official opentelemetry-instrumentation-openai-v2 with message
content captured as log events only (EVENT_ONLY): spans carry no content, the
``gen_ai.client.inference.operation.details`` events go to /v1/logs through the official
OTLP log exporter. Logs are exported before spans for the chat call and after them for the
streamed one, so both join orders are exercised."""

from __future__ import annotations

import os

os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "EVENT_ONLY"

from _common import AUTH, COLLECTOR_URL, TRACES_URL, chat, openai_client, stream
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

resource = Resource.create({"service.name": "conformance-openai-v2-events"})
tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(TRACES_URL, headers=AUTH)))
logger_provider = LoggerProvider(resource=resource)
logger_provider.add_log_record_processor(
    BatchLogRecordProcessor(OTLPLogExporter(COLLECTOR_URL + "/v1/logs", headers=AUTH))
)
instrumentor = OpenAIInstrumentor()
instrumentor.instrument(tracer_provider=tracer_provider, logger_provider=logger_provider)
client = openai_client()

chat(client)
logger_provider.force_flush()  # the events land before their span
tracer_provider.force_flush()
stream(client)
tracer_provider.force_flush()  # the span lands before its events
logger_provider.force_flush()

instrumentor.uninstrument()
tracer_provider.shutdown()
logger_provider.shutdown()
