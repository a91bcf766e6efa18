"""pydantic-ai agents on the openai SDK (chat completions, and the Responses API streamed),
instrumented by pydantic-ai itself (OTel GenAI, content included), exporting to the
collector. One tool: the stub calls it, then answers with its result."""

from __future__ import annotations

import asyncio

from _common import AUTH, QUESTION, SESSION, STREAMED, STUB_URL, SYSTEM, TRACES_URL
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from pydantic_ai import Agent, InstrumentationSettings
from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
from pydantic_ai.providers.openai import OpenAIProvider

provider = TracerProvider(resource=Resource.create({"service.name": "conformance-pydantic-ai"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(TRACES_URL, headers=AUTH)))
Agent.instrument_all(InstrumentationSettings(tracer_provider=provider))
openai = OpenAIProvider(base_url=STUB_URL, api_key="test-key")

chat = Agent(
    OpenAIChatModel("gpt-4o-mini", provider=openai),
    name="weather",
    instructions=SYSTEM,
)


@chat.tool_plain
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}"


result = chat.run_sync(QUESTION, conversation_id=SESSION)
assert result.output.startswith("Sunny in "), result.output

responses = Agent(
    OpenAIResponsesModel("gpt-4o-mini", provider=openai),
    name="streamer",
    instructions=SYSTEM,
)


async def stream() -> str:
    async with responses.run_stream(STREAMED, conversation_id=SESSION) as run:
        return await run.get_output()


assert asyncio.run(stream()) == STREAMED
provider.shutdown()
