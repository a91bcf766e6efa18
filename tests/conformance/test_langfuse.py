"""The langfuse SDK with the collector as its host (Basic auth, /api/public/otel/v1/traces)."""

from __future__ import annotations

import pytest

pytest.importorskip("langfuse")


def test_langfuse_spans_land_right(conformance, expect, golden, version) -> None:
    spans = conformance.run("langfuse_openai")
    question, streamed = conformance.scenario["QUESTION"], conformance.scenario["STREAMED"]

    root = expect.one(spans, name="answer")
    chat = expect.one(spans, name="reply")
    stream = expect.one(spans, name="streamed-reply")

    assert root["kind"] == "chain"
    assert root["output"] == question
    for span in (root, chat, stream):
        expect.session(span)
        assert span["tags"] == ["conformance"]
        assert span["metadata"]["suite"] == "langfuse"
    for span in (chat, stream):
        expect.child_of(span, root)
    # Langfuse names no provider: the price table's entry for the model does.
    expect.chat(chat, question)
    expect.reply_message(chat, question)
    expect.chat(stream, streamed)

    source = f"langfuse {version('langfuse')}"
    fields = golden.fields("cost_usd", "user_id", "tags", "metadata")
    golden.save("langfuse", "captured_generation", chat, fields, source)
    golden.save("langfuse", "captured_streamed_generation", stream, fields, source)
    golden.save("langfuse", "captured_root_span", root, fields, source)
