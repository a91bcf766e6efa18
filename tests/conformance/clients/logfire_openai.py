"""logfire with its OpenAI instrumentation, exporting OTLP/HTTP to the collector and nothing
to Logfire's cloud."""

from __future__ import annotations

import os
from urllib.parse import quote

from _common import AUTH, QUESTION, SESSION, TRACES_URL, USER, chat, openai_client, stream

os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = TRACES_URL
os.environ["OTEL_EXPORTER_OTLP_TRACES_HEADERS"] = ",".join(
    f"{key}={quote(value)}" for key, value in AUTH.items()
)

import logfire

logfire.configure(
    send_to_logfire=False, service_name="conformance-logfire", console=False, metrics=False
)
client = openai_client()
logfire.instrument_openai(client)
# Logfire scrubs attributes whose names match "session"; gen_ai.conversation.id is kept.
with logfire.span(
    "answer {question}",
    question=QUESTION,
    **{"gen_ai.conversation.id": SESSION, "user.id": USER},
):
    chat(client)
    stream(client)
logfire.force_flush()
logfire.shutdown()
