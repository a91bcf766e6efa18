"""The openai client under opentelemetry-instrumentation-openai-v2 (OTel GenAI conventions,
content on spans)."""

from __future__ import annotations

import pytest

pytest.importorskip("opentelemetry.instrumentation.openai_v2")


def test_openai_v2_spans_land_right(conformance, expect, golden, version) -> None:
    spans = conformance.run("openai_v2")
    question, streamed = conformance.scenario["QUESTION"], conformance.scenario["STREAMED"]

    agent = expect.one(spans, kind="agent")
    chat = expect.one(spans, kind="llm", output=question)
    stream = expect.one(spans, kind="llm", output=streamed)
    embedding = expect.one(spans, kind="embedding")

    # The conversation id and user are set on the agent span that holds the calls.
    expect.session(agent)
    for span in (chat, stream, embedding):
        expect.child_of(span, agent)
    expect.chat(chat, question)
    expect.reply_message(chat, question)
    expect.chat(stream, streamed)
    expect.reply_message(stream, streamed)
    assert embedding["model"] == conformance.scenario["EMBEDDING_MODEL"]
    assert embedding["input_tokens"] > 0 and embedding["cost_usd"] > 0

    source = (
        f"opentelemetry-instrumentation-openai-v2 "
        f"{version('opentelemetry-instrumentation-openai-v2')}"
    )
    fields = golden.fields("cost_usd", "user_id")
    golden.save("genai", "captured_openai_v2_chat", chat, fields, source)
    golden.save("genai", "captured_openai_v2_agent", agent, fields, source)
