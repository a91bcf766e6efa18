"""The openai client under traceloop-sdk (OpenLLMetry), exporting to the collector."""

from __future__ import annotations

import os

os.environ["TRACELOOP_METRICS_ENABLED"] = "false"
os.environ["TRACELOOP_TELEMETRY"] = "false"

from _common import AUTH, COLLECTOR_URL, SESSION, USER, chat, openai_client, stream
from traceloop.sdk import Traceloop
from traceloop.sdk.decorators import workflow

Traceloop.init(
    app_name="conformance-traceloop",
    api_endpoint=COLLECTOR_URL,
    headers=AUTH,
    disable_batch=True,
    telemetry_enabled=False,
)
Traceloop.set_association_properties({"session_id": SESSION, "user_id": USER})
client = openai_client()


@workflow(name="answer")
def answer() -> str:
    """The workflow: one chat call and one streamed call."""
    reply = chat(client)
    stream(client)
    return reply


answer()
