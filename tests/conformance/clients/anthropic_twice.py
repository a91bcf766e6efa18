"""The anthropic client traced twice: its own tracer (content mode) and OpenLLMetry's
opentelemetry-instrumentation-anthropic, both exporting to the collector. Every call then
has two llm spans, one from each; the collector marks the later as a duplicate."""

from __future__ import annotations

import os

os.environ["TRACELOOP_TRACE_CONTENT"] = "true"

import anthropic
from _common import AUTH, QUESTION, SESSION, STREAMED, STUB_URL, SYSTEM, TRACES_URL, USER
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

MODEL = "claude-sonnet-4-5"
WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string", "examples": ["Paris"]}},
        "required": ["city"],
    },
}

provider = TracerProvider(resource=Resource.create({"service.name": "conformance-anthropic"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(TRACES_URL, headers=AUTH)))
instrumentor = AnthropicInstrumentor()
instrumentor.instrument(tracer_provider=provider)
tracer = provider.get_tracer("conformance")
client = anthropic.Anthropic(
    base_url=STUB_URL.removesuffix("/v1"),
    api_key="test-key",
    max_retries=0,
    open_telemetry={
        "tracer_provider": provider,
        "traces": {"content_mode": "content"},
        "conversation_id": SESSION,
    },
)


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support", "user.id": USER}
with tracer.start_as_current_span("invoke_agent support", attributes=agent):
    client.messages.create(model=MODEL, max_tokens=100, system=SYSTEM, messages=ask(QUESTION))
    with client.messages.stream(
        model=MODEL, max_tokens=100, system=SYSTEM, messages=ask(STREAMED)
    ) as stream:
        stream.get_final_message()
    weather = ask("Weather in Paris?")
    used = client.messages.create(model=MODEL, max_tokens=100, messages=weather, tools=[WEATHER])
    (call,) = used.content
    assert call.type == "tool_use"
    result = {"type": "tool_result", "tool_use_id": call.id, "content": "Sunny in Paris"}
    client.messages.create(
        model=MODEL,
        max_tokens=100,
        tools=[WEATHER],
        messages=[
            *weather,
            {"role": "assistant", "content": [call.model_dump(exclude_none=True)]},
            {"role": "user", "content": [result]},
        ],
    )
instrumentor.uninstrument()
provider.shutdown()
