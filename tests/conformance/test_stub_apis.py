"""The stub's tool calls, Responses API and Anthropic Messages API, driven by the real SDKs.

The conformance clients rely on these replies (tests/conformance/clients/*), so they are
checked here with the SDKs' own parsers and stream accumulators: ``openai``'s
``chat.completions.stream()`` and ``responses.stream()``, ``anthropic``'s
``messages.stream()``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from loopwise.testing import Behavior, OpenAIStub
from loopwise.testing.stub_turns import schema_arguments

WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
    "required": ["city", "unit"],
}
CHAT_TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
]
RESPONSE_TOOLS = [{"type": "function", "name": "get_weather", "parameters": WEATHER}]
CLAUDE_TOOLS = [{"name": "get_weather", "description": "Weather", "input_schema": WEATHER}]
CLAUDE = "claude-sonnet-4-5"


def city_arguments(_name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema_arguments(_name, schema), "city": "Paris"}


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with OpenAIStub(tool_arguments=city_arguments) as s:
        yield s


def client(stub: OpenAIStub) -> openai.OpenAI:
    return openai.OpenAI(base_url=stub.base_url, api_key="test", max_retries=0, timeout=10)


ASK = [{"role": "user", "content": "Weather in Paris?"}]


def test_chat_calls_the_first_tool_then_answers_with_its_result(stub: OpenAIStub) -> None:
    first = client(stub).chat.completions.create(model="m", messages=ASK, tools=CHAT_TOOLS)
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "celsius"}

    history = [
        *ASK,
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny in Paris"},
    ]
    second = client(stub).chat.completions.create(model="m", messages=history, tools=CHAT_TOOLS)
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "Sunny in Paris"
    assert second.choices[0].message.tool_calls is None
    assert first.usage is not None and first.usage.completion_tokens > 0


def test_chat_tool_choice_none_or_named(stub: OpenAIStub) -> None:
    plain = client(stub).chat.completions.create(
        model="m", messages=ASK, tools=CHAT_TOOLS, tool_choice="none"
    )
    assert plain.choices[0].message.content == "Weather in Paris?"
    named = client(stub).chat.completions.create(
        model="m",
        messages=ASK,
        tools=CHAT_TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    (call,) = named.choices[0].message.tool_calls or []
    assert (call.function.name, call.function.arguments) == ("get_time", '{"city": "Paris"}')


def test_chat_tool_call_streams_through_the_sdk_accumulator(stub: OpenAIStub) -> None:
    with client(stub).chat.completions.stream(
        model="m", messages=ASK, tools=CHAT_TOOLS, stream_options={"include_usage": True}
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_completion()
    assert "tool_calls.function.arguments.delta" in kinds
    assert "tool_calls.function.arguments.done" in kinds
    (call,) = final.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "celsius"}
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.usage is not None and final.usage.prompt_tokens > 0


def test_chat_text_streams_with_the_same_ids_and_usage(stub: OpenAIStub) -> None:
    chunks = list(
        client(stub).chat.completions.create(
            model="m", messages=ASK, stream=True, stream_options={"include_usage": True}
        )
    )
    assert len({chunk.id for chunk in chunks}) == 1
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ASK[0]["content"]
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_chat_echoes_the_text_of_content_parts(stub: OpenAIStub) -> None:
    parts = [{"type": "text", "text": "one "}, {"type": "text", "text": "two"}]
    reply = client(stub).chat.completions.create(
        model="m", messages=[{"role": "user", "content": parts}]
    )
    assert reply.choices[0].message.content == "one two"


def test_schema_arguments_fill_required_properties() -> None:
    schema = {
        "type": "object",
        "properties": {
            "q": {"type": "string"},
            "n": {"type": ["integer", "null"]},
            "limit": {"type": "integer", "default": 5},
            "place": {"$ref": "#/$defs/Place"},
            "optional": {"type": "string"},
        },
        "required": ["q", "n", "limit", "place"],
        "$defs": {"Place": {"type": "object", "properties": {"ok": {"type": "boolean"}}}},
    }
    assert schema_arguments("t", schema) == {"q": "test", "n": 1, "limit": 5, "place": {"ok": True}}
    assert schema_arguments("t", {}) == {}


def test_responses_text_and_function_call(stub: OpenAIStub) -> None:
    text = client(stub).responses.create(model="m", instructions="Be brief.", input="Hi there")
    assert text.output_text == "Hi there"
    assert text.status == "completed" and text.id.startswith("resp_")
    assert text.usage is not None and text.usage.total_tokens > 0

    called = client(stub).responses.create(
        model="m", input=[{"role": "user", "content": "Weather?"}], tools=RESPONSE_TOOLS
    )
    (call,) = called.output
    assert call.type == "function_call"
    assert (call.name, json.loads(call.arguments)) == (
        "get_weather",
        {"city": "Paris", "unit": "celsius"},
    )
    answered = client(stub).responses.create(
        model="m",
        tools=RESPONSE_TOOLS,
        input=[
            {"role": "user", "content": "Weather?"},
            call.model_dump(exclude_none=True),
            {"type": "function_call_output", "call_id": call.call_id, "output": "Sunny in Paris"},
        ],
    )
    assert answered.output_text == "Sunny in Paris"
    assert stub.paths[-1] == "/v1/responses"


def test_responses_stream_through_the_sdk_accumulator(stub: OpenAIStub) -> None:
    with client(stub).responses.stream(model="m", input="one two three") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds.count("response.output_text.delta") == 3
    assert kinds[-1] == "response.completed"
    assert final.output_text == "one two three"
    assert final.usage is not None and final.usage.output_tokens > 0

    with client(stub).responses.stream(model="m", input="w?", tools=RESPONSE_TOOLS) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert "response.function_call_arguments.delta" in kinds
    (call,) = final.output
    assert call.type == "function_call" and json.loads(call.arguments)["city"] == "Paris"


def test_responses_raw_stream_events_are_numbered(stub: OpenAIStub) -> None:
    events = list(client(stub).responses.create(model="m", input="a b", stream=True))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "a b"


def test_behaviors_apply_to_responses(stub: OpenAIStub) -> None:
    stub.enqueue(Behavior.rate_limited(), Behavior.reply("scripted"))
    with pytest.raises(openai.RateLimitError):
        client(stub).responses.create(model="m", input="x")
    assert client(stub).responses.create(model="m", input="x").output_text == "scripted"


def claude(stub: OpenAIStub) -> Any:
    return anthropic.Anthropic(base_url=stub.url, api_key="test", max_retries=0, timeout=10)


def test_messages_text_and_tool_use(stub: OpenAIStub) -> None:
    text = claude(stub).messages.create(
        model=CLAUDE, max_tokens=100, system="Be brief.", messages=ASK
    )
    assert [block.type for block in text.content] == ["text"]
    assert text.content[0].text == "Weather in Paris?"
    assert (text.model, text.stop_reason, text.role) == (CLAUDE, "end_turn", "assistant")
    assert text.usage.input_tokens > 0 and text.usage.output_tokens > 0

    used = claude(stub).messages.create(
        model=CLAUDE, max_tokens=100, messages=ASK, tools=CLAUDE_TOOLS
    )
    assert used.stop_reason == "tool_use"
    (block,) = used.content
    assert block.type == "tool_use"
    assert (block.name, block.input) == ("get_weather", {"city": "Paris", "unit": "celsius"})

    answered = claude(stub).messages.create(
        model=CLAUDE,
        max_tokens=100,
        tools=CLAUDE_TOOLS,
        messages=[
            *ASK,
            {"role": "assistant", "content": [block.model_dump(exclude_none=True)]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": block.id, "content": "Sunny in Paris"}
                ],
            },
        ],
    )
    assert answered.stop_reason == "end_turn"
    assert answered.content[0].text == "Sunny in Paris"
    assert stub.paths[-1] == "/v1/messages"


def test_messages_tool_choice_none(stub: OpenAIStub) -> None:
    reply = claude(stub).messages.create(
        model=CLAUDE,
        max_tokens=100,
        messages=ASK,
        tools=CLAUDE_TOOLS,
        tool_choice={"type": "none"},
    )
    assert reply.content[0].type == "text"


def test_messages_stream_through_the_sdk_accumulator(stub: OpenAIStub) -> None:
    with claude(stub).messages.stream(
        model=CLAUDE, max_tokens=100, messages=[{"role": "user", "content": "one two three"}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert pieces == ["one ", "two ", "three"]
    assert final.content[0].text == "one two three"
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 1

    with claude(stub).messages.stream(
        model=CLAUDE, max_tokens=100, messages=ASK, tools=CLAUDE_TOOLS
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert "input_json" in kinds
    (block,) = final.content
    assert block.type == "tool_use" and block.input == {"city": "Paris", "unit": "celsius"}
    assert final.stop_reason == "tool_use"


async def test_messages_async_stream(stub: OpenAIStub) -> None:
    client = anthropic.AsyncAnthropic(base_url=stub.url, api_key="test", max_retries=0)
    async with client.messages.stream(model=CLAUDE, max_tokens=10, messages=ASK) as stream:
        final = await stream.get_final_message()
    assert final.content[0].text == "Weather in Paris?"
    await client.close()


def test_behaviors_apply_to_messages(stub: OpenAIStub) -> None:
    stub.enqueue(Behavior.server_error())
    with pytest.raises(anthropic.InternalServerError):
        claude(stub).messages.create(model=CLAUDE, max_tokens=10, messages=ASK)
