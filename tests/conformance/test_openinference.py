"""The openai client under openinference-instrumentation-openai (OpenInference conventions)."""

from __future__ import annotations

import pytest

pytest.importorskip("openinference.instrumentation.openai")


def test_openinference_spans_land_right(conformance, expect, golden, version) -> None:
    spans = conformance.run("openinference_openai")
    question, streamed = conformance.scenario["QUESTION"], conformance.scenario["STREAMED"]

    root = expect.one(spans, name="answer")
    chat = expect.one(spans, name="ChatCompletion", output=question)
    stream = expect.one(spans, name="ChatCompletion", output=streamed)
    embedding = expect.one(spans, kind="embedding")

    assert (root["kind"], root["input"], root["output"]) == ("chain", question, question)
    for span in (chat, stream, embedding):
        expect.child_of(span, root)
        expect.session(span)
    expect.chat(chat, question)
    expect.reply_message(chat, question)
    expect.chat(stream, streamed)
    assert embedding["model"] == conformance.scenario["EMBEDDING_MODEL"]
    assert embedding["provider"] == "openai"
    assert embedding["input_tokens"] > 0 and embedding["cost_usd"] > 0
    assert chat["metadata"]["invocation_parameters"]["model"] == conformance.scenario["MODEL"]
    assert all(span["service_name"] == "conformance-openinference" for span in spans)

    source = (
        f"openinference-instrumentation-openai {version('openinference-instrumentation-openai')}"
    )
    fields = golden.fields("cost_usd", "user_id")
    golden.save("openinference", "captured_openai_chat", chat, fields, source)
    golden.save("openinference", "captured_openai_embedding", embedding, fields, source)
