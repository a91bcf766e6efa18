"""The openai client under the official opentelemetry-instrumentation-openai-v2, with message
content on spans (the current GenAI conventions, opted in)."""

from __future__ import annotations

import os

os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"

from _common import AUTH, SESSION, TRACES_URL, USER, chat, embed, openai_client, stream
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

provider = TracerProvider(resource=Resource.create({"service.name": "conformance-openai-v2"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(TRACES_URL, headers=AUTH)))
instrumentor = OpenAIInstrumentor()
instrumentor.instrument(tracer_provider=provider)
tracer = provider.get_tracer("conformance")
client = openai_client()
agent = {
    "gen_ai.operation.name": "invoke_agent",
    "gen_ai.agent.name": "support",
    "gen_ai.conversation.id": SESSION,
    "user.id": USER,
}
with tracer.start_as_current_span("invoke_agent support", attributes=agent):
    chat(client)
    stream(client)
    embed(client)
instrumentor.uninstrument()
provider.shutdown()
