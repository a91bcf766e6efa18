"""LangChain (ChatOpenAI from langchain-openai) under openinference-instrumentation-langchain:
a prompt | model | parser chain, a streamed call and a tool loop. The instrumentation sends
LangChain serializations (prompt values, ToolMessage and AIMessage dumps, LLMResult) as
input.value/output.value; stored text is their content, the structure the messages."""

from __future__ import annotations

import pytest

pytest.importorskip("langchain_openai")
pytest.importorskip("openinference.instrumentation.langchain")

CALL = {"id": "call_stub0003", "name": "get_weather", "arguments": '{"city": "test"}'}


def test_langchain_spans_land_readable(conformance, expect, golden, version) -> None:
    spans = conformance.run("langchain_openinference")
    scenario = conformance.scenario
    system, question, streamed = scenario["SYSTEM"], scenario["QUESTION"], scenario["STREAMED"]

    for span in spans:
        expect.session(span)
        assert span["ingest_warnings"] is None and span["status"] == "ok"
        for column in ("input", "output"):  # text, never a serialization dump
            assert not (span[column] or "").startswith(("{", "[")), (span["name"], span[column])

    sequence = expect.one(spans, name="RunnableSequence")
    template = expect.one(spans, name="ChatPromptTemplate")
    parser = expect.one(spans, name="StrOutputParser")
    chat = expect.one(spans, kind="llm", parent_span_id=sequence["span_id"])
    stream = expect.one(spans, kind="llm", output=streamed)
    called = expect.one(spans, kind="llm", input="Weather in Paris?")
    tool = expect.one(spans, kind="tool")
    answered = expect.one(spans, kind="llm", output="Sunny in test")

    assert (sequence["kind"], sequence["input"], sequence["output"]) == (
        "chain",
        question,
        question,
    )
    for span in (template, parser, chat):
        expect.child_of(span, sequence)
    # The prompt template's output: a ChatPromptValue, as messages.
    assert template["output"] == f"system: {system}\nuser: {question}"
    assert template["output_messages"] == [
        {"role": "system", "content": system},
        {"role": "user", "content": question},
    ]
    # The parser's input: the model's AIMessage, serialized.
    assert parser["input"] == question and parser["output"] == question
    assert parser["input_messages"] == [{"role": "assistant", "content": question}]

    expect.chat(chat, question)
    expect.reply_message(chat, question)
    expect.chat(stream, streamed)
    expect.reply_message(stream, streamed)

    assert called["output_messages"] == [{"role": "assistant", "content": "", "tool_calls": [CALL]}]
    # The tool's output: a serialized ToolMessage; its content is the text.
    assert (tool["name"], tool["output"]) == ("get_weather", "Sunny in test")
    assert tool["output_messages"] == [
        {"role": "tool", "content": "Sunny in test", "tool_call_id": "call_stub0003"}
    ]
    assert answered["input_messages"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [CALL]},
        {"role": "tool", "content": "Sunny in test", "tool_call_id": "call_stub0003"},
    ]
    for span in (chat, stream, called, answered):
        assert (span["model"], span["provider"]) == (scenario["MODEL"], "openai")
        assert span["input_tokens"] > 0 and span["output_tokens"] > 0

    source = (
        f"langchain-openai {version('langchain-openai')} under "
        f"openinference-instrumentation-langchain "
        f"{version('openinference-instrumentation-langchain')}"
    )
    fields = golden.fields("user_id")
    golden.save("langchain", "captured_openinference_prompt_template", template, fields, source)
    golden.save("langchain", "captured_openinference_output_parser", parser, fields, source)
    golden.save("langchain", "captured_openinference_tool", tool, fields, source)
    golden.save("langchain", "captured_openinference_chat_after_tool", answered, fields, source)
