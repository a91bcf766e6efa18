"""The openai client under openinference-instrumentation-openai, exporting OTLP/HTTP."""

from __future__ import annotations

from _common import AUTH, QUESTION, SESSION, TRACES_URL, USER, chat, embed, openai_client, stream
from openinference.instrumentation import using_session, using_user
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

provider = TracerProvider(resource=Resource.create({"service.name": "conformance-openinference"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(TRACES_URL, headers=AUTH)))
instrumentor = OpenAIInstrumentor()
instrumentor.instrument(tracer_provider=provider)
tracer = provider.get_tracer("conformance")
client = openai_client()
with (
    using_session(SESSION),
    using_user(USER),
    tracer.start_as_current_span(
        "answer", attributes={"openinference.span.kind": "CHAIN", "input.value": QUESTION}
    ) as span,
):
    reply = chat(client)
    stream(client)
    embed(client)
    span.set_attribute("output.value", reply)
instrumentor.uninstrument()
provider.shutdown()
