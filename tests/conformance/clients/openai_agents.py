"""The OpenAI Agents SDK (``openai-agents``, Responses API) under
openinference-instrumentation-openai-agents, exporting OTLP/HTTP: an agent with one function
tool run to its answer (the stub calls the tool, then answers with its result), and an agent
without instructions run streamed (its flattened input messages then start at index 1)."""

from __future__ import annotations

import asyncio

from _common import AUTH, MODEL, QUESTION, SESSION, STREAMED, STUB_URL, SYSTEM, TRACES_URL, USER
from agents import Agent, Runner, function_tool, set_default_openai_client, trace
from openai import AsyncOpenAI
from openinference.instrumentation import using_session, using_user
from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

provider = TracerProvider(resource=Resource.create({"service.name": "conformance-openai-agents"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(TRACES_URL, headers=AUTH)))
# Exclusive (the default): it replaces the SDK's own exporter to OpenAI's platform.
instrumentor = OpenAIAgentsInstrumentor()
instrumentor.instrument(tracer_provider=provider)
client = AsyncOpenAI(base_url=STUB_URL, api_key="test-key", max_retries=0)
set_default_openai_client(client, use_for_tracing=False)


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}"


weather = Agent(name="weather", instructions=SYSTEM, model=MODEL, tools=[get_weather])
plain = Agent(name="plain", model=MODEL)


async def main() -> None:
    with using_session(SESSION), using_user(USER):
        with trace("weather workflow"):
            result = await Runner.run(weather, QUESTION)
        assert result.final_output == "Sunny in test", result.final_output
        with trace("streamed workflow"):
            run = Runner.run_streamed(plain, STREAMED)
            async for _ in run.stream_events():
                pass
        assert run.final_output == STREAMED, run.final_output


asyncio.run(main())
instrumentor.uninstrument()
provider.shutdown()
