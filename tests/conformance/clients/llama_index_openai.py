"""LlamaIndex (``llama-index-llms-openai``'s OpenAI LLM) under
openinference-instrumentation-llama-index, exporting OTLP/HTTP: one ``complete`` call (a
prompt string), one ``chat`` call (system and user messages) and one function tool run."""

from __future__ import annotations

from _common import AUTH, MODEL, QUESTION, SESSION, STREAMED, STUB_URL, SYSTEM, TRACES_URL, USER
from llama_index.core.llms import ChatMessage
from llama_index.core.tools import FunctionTool
from llama_index.llms.openai import OpenAI
from openinference.instrumentation import using_session, using_user
from openinference.instrumentation.llama_index import LlamaIndexInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

provider = TracerProvider(resource=Resource.create({"service.name": "conformance-llama-index"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(TRACES_URL, headers=AUTH)))
instrumentor = LlamaIndexInstrumentor()
instrumentor.instrument(tracer_provider=provider)


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}"


llm = OpenAI(model=MODEL, api_base=STUB_URL, api_key="test-key", max_retries=0)
with using_session(SESSION), using_user(USER):
    completed = llm.complete(QUESTION)
    assert completed.text == QUESTION, completed.text
    chatted = llm.chat(
        [ChatMessage(role="system", content=SYSTEM), ChatMessage(role="user", content=STREAMED)]
    )
    assert chatted.message.content == STREAMED, chatted.message.content
    ran = FunctionTool.from_defaults(fn=get_weather).call(city="test")
    assert ran.raw_output == "Sunny in test", ran
instrumentor.uninstrument()
provider.shutdown()
