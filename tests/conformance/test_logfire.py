"""logfire exporting OTLP to the collector, nothing to Logfire's cloud."""

from __future__ import annotations

import pytest

pytest.importorskip("logfire")


def test_logfire_spans_land_right(conformance, expect, golden, version) -> None:
    spans = conformance.run("logfire_openai")
    question, streamed = conformance.scenario["QUESTION"], conformance.scenario["STREAMED"]

    root = expect.one(spans, parent_span_id=None)
    chat = expect.one(spans, kind="llm", output=question)
    # Logfire records a streamed call as a span for the request and a log span (zero
    # duration) carrying the streamed answer and usage.
    stream_request = expect.one(spans, kind="llm", output=None)
    stream = expect.one(spans, kind="llm", output=streamed)

    expect.session(root)
    for span in (chat, stream_request, stream):
        expect.child_of(span, root)
        assert span["tags"] == ["LLM"]
    expect.chat(chat, question)
    expect.reply_message(chat, question)
    expect.chat(stream_request, streamed, answer=False)
    expect.chat(stream, streamed)
    assert all(span["service_name"] == "conformance-logfire" for span in spans)

    source = f"logfire {version('logfire')}"
    fields = golden.fields("cost_usd", "user_id", "tags")
    golden.save("logfire", "captured_openai_chat", chat, fields, source)
    golden.save("logfire", "captured_streamed_answer", stream, fields, source)
