"""Chat messages rebuilt from the shapes clients send, as plain text."""

from __future__ import annotations

import json

from loopwise.dashboard.messages import ChatMessage, span_messages


def messages(span: dict[str, object]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    inputs, outputs = span_messages(span)
    return [(m.role, m.content) for m in inputs], [(m.role, m.content) for m in outputs]


def test_otel_genai_messages_with_parts_and_system_instructions() -> None:
    attributes = {
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "be brief"}]),
        "gen_ai.input.messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": "<b>hi</b>"}]}]
        ),
        "gen_ai.output.messages": json.dumps(
            [
                {
                    "role": "assistant",
                    "parts": [{"type": "tool_call", "name": "lookup", "arguments": {"id": 7}}],
                }
            ]
        ),
    }
    assert messages({"attributes": json.dumps(attributes)}) == (
        [("system", "be brief"), ("user", "<b>hi</b>")],
        [("assistant", '→ lookup({"id": 7})')],
    )


def test_openinference_flattened_messages() -> None:
    attributes = {
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "where is my parcel?",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "track",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": "{}",
    }
    assert messages({"attributes": json.dumps(attributes)}) == (
        [("user", "where is my parcel?")],
        [("assistant", "→ track({})")],
    )


def test_messages_in_the_input_and_output_text() -> None:
    span = {
        "input": json.dumps(
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]}
        ),
        "output": json.dumps({"choices": [{"message": {"role": "assistant", "content": "hi"}}]}),
        "attributes": "not json",
    }
    assert messages(span) == ([("user", "hello")], [("assistant", "hi")])


def test_text_that_is_not_a_conversation_gives_no_messages() -> None:
    for value in ("plain words", "[1, 2]", '[{"role": "user"}, 3]', '{"a": 1}', None, "[oops"):
        assert span_messages({"input": value, "output": value}) == ([], [])


def test_roles_map_to_a_known_kind() -> None:
    kinds = [ChatMessage(role, "").kind for role in ("User", "ai", "tool", "<b>x</b>", "system")]
    assert kinds == ["user", "assistant", "tool", "other", "system"]
