"""The anthropic client traced twice: by its own tracer (OTel GenAI, content mode) and by
OpenLLMetry's opentelemetry-instrumentation-anthropic. Each call lands readable from both,
and the later twin of a call is marked ``metadata.duplicate_of`` so totals count it once."""

from __future__ import annotations

import pytest

pytest.importorskip("anthropic")
pytest.importorskip("opentelemetry.instrumentation.anthropic")

MODEL = "claude-sonnet-4-5"
SDK, OPENLLMETRY = "anthropic.messages.create", "anthropic.chat"
TOOL_CALL = {"id": "call_stub0003", "name": "get_weather", "arguments": '{"city":"Paris"}'}


def twins(spans, expect, output):
    """The call answered with ``output``: (its SDK span, its OpenLLMetry span)."""
    return (
        expect.one(spans, name=SDK, output=output),
        expect.one(spans, name=OPENLLMETRY, output=output),
    )


def test_anthropic_twice_lands_readable_and_counted_once(
    conformance, expect, golden, version
) -> None:
    spans = conformance.run("anthropic_twice")
    scenario = conformance.scenario
    system, question, streamed = scenario["SYSTEM"], scenario["QUESTION"], scenario["STREAMED"]

    agent = expect.one(spans, kind="agent")
    assert agent["user_id"] == scenario["USER"]
    llm = [span for span in spans if span["kind"] == "llm"]
    assert len(llm) == 8  # four calls, each recorded by both tracers
    for span in llm:
        expect.child_of(span, agent)
        assert (span["model"], span["provider"]) == (MODEL, "anthropic")
        assert span["ingest_warnings"] is None and span["status"] == "ok"
        assert span["input_tokens"] > 0 and span["output_tokens"] > 0
        # Only the SDK's tracer carries the client's conversation_id.
        assert span["session_id"] == (scenario["SESSION"] if span["name"] == SDK else None)

    plain = twins(spans, expect, question)
    stream = twins(spans, expect, streamed)
    called = twins(spans, expect, 'get_weather({"city":"Paris"})')
    answered = twins(spans, expect, "Sunny in Paris")

    for sdk, openllmetry in (plain, stream):
        text = sdk["output"]
        for span in (sdk, openllmetry):
            assert span["input"] == f"system: {system}\nuser: {text}"
            expect.reply_message(span, text)
    for span in called:
        assert span["input_messages"] == [{"role": "user", "content": "Weather in Paris?"}]
        assert span["output_messages"] == [
            {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]}
        ]
    for span in answered:
        # The SDK's tracer sends the tool_result block's content parts as the response:
        # stored as the text, not as JSON.
        assert span["input_messages"] == [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]},
            {"role": "tool", "content": "Sunny in Paris", "tool_call_id": "call_stub0003"},
        ]
        expect.reply_message(span, "Sunny in Paris")

    # The later-started twin of a call points at the earlier; the earlier is unmarked.
    for pair in (plain, called, answered):
        first, second = sorted(pair, key=lambda span: (span["start_time"], span["span_id"]))
        assert (first["metadata"] or {}).get("duplicate_of") is None
        assert second["metadata"]["duplicate_of"] == first["span_id"]
    # Streamed, OpenLLMetry adds message_start's output token to message_delta's running
    # total, so the twins' output tokens differ by one and they are not matched.
    sdk, openllmetry = stream
    assert sdk["input_tokens"] == openllmetry["input_tokens"]
    assert openllmetry["output_tokens"] == sdk["output_tokens"] + 1
    assert all(not (span["metadata"] or {}).get("duplicate_of") for span in stream)

    sdk_source = f"anthropic {version('anthropic')} (its own tracer, content mode)"
    fields = golden.fields()
    golden.save("genai", "captured_anthropic_sdk_chat", plain[0], fields, sdk_source)
    golden.save("genai", "captured_anthropic_sdk_tool_result", answered[0], fields, sdk_source)
    openllmetry_source = (
        "opentelemetry-instrumentation-anthropic "
        f"{version('opentelemetry-instrumentation-anthropic')}"
    )
    golden.save(
        "openllmetry", "captured_anthropic_tool_result", answered[1], fields, openllmetry_source
    )
