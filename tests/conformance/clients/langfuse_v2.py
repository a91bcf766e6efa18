"""The Langfuse SDK v2 (``langfuse<3``) with the collector as its host: everything it
records goes to ``POST /api/public/ingestion`` in batches. Two traces: one from the
``@observe`` decorator around the SDK's OpenAI integration (a generation the integration
creates and ends with the stub's answer and usage), one built with the low-level client
(trace, span, generation ended with usage, event, trace update, score). The ids the SDK
used are written to langfuse_v2.json in the working directory for the test to check."""

from __future__ import annotations

import json
import os

from _common import COLLECTOR_KEY, COLLECTOR_URL, MODEL, QUESTION, SESSION, STUB_URL, USER, messages

os.environ["LANGFUSE_PUBLIC_KEY"] = "pk-lf-conformance"
os.environ["LANGFUSE_SECRET_KEY"] = COLLECTOR_KEY
os.environ["LANGFUSE_HOST"] = COLLECTOR_URL

from langfuse import Langfuse
from langfuse.decorators import langfuse_context, observe
from langfuse.openai import openai

seen: dict[str, object] = {}


@observe(name="answer")
def answer() -> str:
    """A traced function calling the model through the SDK's OpenAI integration."""
    langfuse_context.update_current_trace(
        session_id=SESSION, user_id=USER, tags=["conformance"], metadata={"suite": "v2"}
    )
    seen["decorated_trace_id"] = langfuse_context.get_current_trace_id()
    client = openai.OpenAI(base_url=STUB_URL, api_key="test-key", max_retries=0)
    reply = client.chat.completions.create(  # type: ignore[call-overload]
        model=MODEL, messages=messages(QUESTION), name="reply"
    )
    return str(reply.choices[0].message.content)


seen["answer"] = answer()
langfuse_context.flush()

langfuse = Langfuse()
trace = langfuse.trace(name="manual", user_id=USER, session_id=SESSION, input={"q": QUESTION})
span = trace.span(name="retrieve", input=QUESTION)
generation = span.generation(name="draft", model=MODEL, input=messages(QUESTION))
generation.end(output="a draft", usage={"input": 12, "output": 3, "unit": "TOKENS"})
span.end(output=["doc-1", "doc-2"])
trace.event(name="cache-miss", metadata={"key": "faq"})
trace.update(output="the final answer")
trace.score(name="helpful", value=1)
seen["manual_trace_id"] = trace.id
seen["span_id"] = span.id
seen["generation_id"] = generation.id
langfuse.flush()
langfuse.shutdown()
with open("langfuse_v2.json", "w") as out:
    json.dump(seen, out)
