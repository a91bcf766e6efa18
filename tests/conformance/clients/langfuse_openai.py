"""The langfuse SDK with its OpenAI integration, the collector as its host: OTLP/HTTP to
/api/public/otel/v1/traces with Basic auth (public key : secret key)."""

from __future__ import annotations

import os

from _common import COLLECTOR_KEY, COLLECTOR_URL, SESSION, USER, chat, openai_client, stream

os.environ["LANGFUSE_PUBLIC_KEY"] = "pk-lf-conformance"
os.environ["LANGFUSE_SECRET_KEY"] = COLLECTOR_KEY
os.environ["LANGFUSE_HOST"] = COLLECTOR_URL

from langfuse import get_client, observe, propagate_attributes
from langfuse.openai import openai

langfuse = get_client()
client = openai_client(openai)


@observe(name="answer")
def answer() -> str:
    """The traced function: one chat call and one streamed call."""
    with propagate_attributes(
        session_id=SESSION, user_id=USER, tags=["conformance"], metadata={"suite": "langfuse"}
    ):
        reply = chat(client, name="reply")
        stream(client, name="streamed-reply")
        return reply


answer()
langfuse.flush()
langfuse.shutdown()
