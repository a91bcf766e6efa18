"""The openai client under traceloop-sdk (OpenLLMetry)."""

from __future__ import annotations

import pytest

pytest.importorskip("traceloop.sdk")


def test_traceloop_spans_land_right(conformance, expect, golden, version) -> None:
    spans = conformance.run("traceloop_openai")
    question, streamed = conformance.scenario["QUESTION"], conformance.scenario["STREAMED"]

    workflow = expect.one(spans, name="answer.workflow")
    chat = expect.one(spans, kind="llm", output=question)
    stream = expect.one(spans, kind="llm", output=streamed)

    assert workflow["kind"] == "chain"
    assert workflow["output"] == question  # traceloop.entity.output, a JSON-encoded string
    assert workflow["metadata"] == {"workflow": "answer"}
    for span in (workflow, chat, stream):
        expect.session(span)
    for span in (chat, stream):
        expect.child_of(span, workflow)
    expect.chat(chat, question)
    expect.reply_message(chat, question)
    expect.chat(stream, streamed)
    assert all(span["service_name"] == "conformance-traceloop" for span in spans)

    source = f"traceloop-sdk {version('traceloop-sdk')}"
    fields = golden.fields("cost_usd", "user_id", "metadata")
    golden.save("openllmetry", "captured_traceloop_chat", chat, fields, source)
    golden.save("openllmetry", "captured_traceloop_workflow", workflow, fields, source)
