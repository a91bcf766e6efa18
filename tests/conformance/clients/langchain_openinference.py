"""LangChain (langchain-openai's ChatOpenAI) under openinference-instrumentation-langchain,
exporting OTLP/HTTP: a prompt | model | parser chain, a streamed call, and a tool loop
(the model calls a tool, the tool runs, the model answers with its result)."""

from __future__ import annotations

import os

os.environ["LANGCHAIN_TRACING_V2"] = "false"
os.environ["LANGSMITH_TRACING"] = "false"

from _common import AUTH, MODEL, QUESTION, SESSION, STREAMED, STUB_URL, SYSTEM, TRACES_URL, USER
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from openinference.instrumentation import using_session, using_user
from openinference.instrumentation.langchain import LangChainInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

provider = TracerProvider(resource=Resource.create({"service.name": "conformance-langchain"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(TRACES_URL, headers=AUTH)))
instrumentor = LangChainInstrumentor()
instrumentor.instrument(tracer_provider=provider)

model = ChatOpenAI(
    model=MODEL, base_url=STUB_URL, api_key="test-key", max_retries=0, stream_usage=True
)


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}"


prompt = ChatPromptTemplate.from_messages([("system", SYSTEM), ("user", "{question}")])
with using_session(SESSION), using_user(USER):
    answer = (prompt | model | StrOutputParser()).invoke({"question": QUESTION})
    assert answer == QUESTION, answer
    streamed = "".join(
        str(chunk.content)
        for chunk in model.stream([SystemMessage(SYSTEM), HumanMessage(STREAMED)])
    )
    assert streamed == STREAMED, streamed

    tools = model.bind_tools([get_weather])
    history = [HumanMessage("Weather in Paris?")]
    called = tools.invoke(history)
    (call,) = called.tool_calls
    result = get_weather.invoke(call)  # a ToolMessage, as an agent loop runs it
    final = tools.invoke([*history, called, result])
    assert final.content == "Sunny in test", final.content
instrumentor.uninstrument()
provider.shutdown()
