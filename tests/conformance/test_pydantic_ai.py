"""pydantic-ai agents on the openai SDK, instrumented by pydantic-ai itself (OTel GenAI):
a chat-completions agent that calls one tool, and a Responses API agent run streamed."""

from __future__ import annotations

import pytest

pytest.importorskip("pydantic_ai")

CALL = {"id": "call_stub0001", "name": "get_weather", "arguments": '{"city": "test"}'}


def test_pydantic_ai_agents_land_right(conformance, expect, golden, version) -> None:
    spans = conformance.run("pydantic_ai_openai")
    scenario = conformance.scenario
    system, question, streamed = scenario["SYSTEM"], scenario["QUESTION"], scenario["STREAMED"]
    asked = [{"role": "system", "content": system}, {"role": "user", "content": question}]
    called = {"role": "assistant", "content": "", "tool_calls": [CALL]}
    result = {"role": "tool", "content": "Sunny in test", "tool_call_id": "call_stub0001"}

    weather = expect.one(spans, name="invoke_agent weather")
    streamer = expect.one(spans, name="invoke_agent streamer")
    first = expect.one(spans, kind="llm", input=f"system: {system}\nuser: {question}")
    second = expect.one(spans, kind="llm", output="Sunny in test")
    tool = expect.one(spans, kind="tool")
    responses = expect.one(spans, kind="llm", output=streamed)

    for span in spans:
        assert span["session_id"] == scenario["SESSION"]  # conversation_id on every span
        assert span["ingest_warnings"] is None
    for span in (first, second, tool):
        expect.child_of(span, weather)
    expect.child_of(responses, streamer)

    # The agent run: instructions and all_messages as input, the final result as output.
    assert (weather["kind"], weather["model"], weather["provider"]) == (
        "agent",
        "gpt-4o-mini",
        "openai",
    )
    assert weather["input_messages"] == [*asked, called, result]
    assert weather["output"] == "Sunny in test"
    expect.reply_message(weather, "Sunny in test")
    # Its aggregated usage stays on it as metadata: the model calls carry the tokens.
    assert weather["input_tokens"] is None and weather["output_tokens"] is None
    usage = weather["metadata"]["aggregated_usage"]
    assert usage["input_tokens"] == first["input_tokens"] + second["input_tokens"]
    assert usage["output_tokens"] == first["output_tokens"] + second["output_tokens"]

    assert first["input_messages"] == asked
    assert first["output_messages"] == [called]
    assert second["input_messages"] == [*asked, called, result]
    expect.reply_message(second, "Sunny in test")
    assert (tool["name"], tool["input"], tool["output"]) == (
        "execute_tool get_weather",
        '{"city":"test"}',
        "Sunny in test",
    )

    assert streamer["kind"] == "agent" and streamer["output"] == streamed
    assert streamer["input_tokens"] is None
    expect.chat(responses, streamed)
    expect.reply_message(responses, streamed)

    # The trace totals count each model call once.
    totals = conformance.http.post(
        "/api/sql", json={"sql": "SELECT trace_id, total_tokens FROM traces"}
    ).json()["rows"]
    by_trace = dict(totals)
    assert by_trace[weather["trace_id"]] == first["total_tokens"] + second["total_tokens"]
    assert by_trace[streamer["trace_id"]] == responses["total_tokens"]

    source = f"pydantic-ai-slim {version('pydantic-ai-slim')} (OpenAIChatModel, one tool)"
    fields = golden.fields("metadata")
    golden.save("pydantic_ai", "captured_openai_agent_run", weather, fields, source)
    golden.save("pydantic_ai", "captured_openai_chat_after_tool", second, fields, source)
    responses_source = f"pydantic-ai-slim {version('pydantic-ai-slim')} (OpenAIResponsesModel)"
    golden.save("pydantic_ai", "captured_responses_stream", responses, fields, responses_source)
