"""Anthropic's Messages API (``POST /v1/messages``) as the stub answers it.

A reply is one content block: ``text``, or ``tool_use`` (with ``stop_reason: "tool_use"``).
Streaming sends the API's events in its order (``message_start``, ``content_block_start``,
``content_block_delta`` with ``text_delta`` per word or ``input_json_delta`` pieces,
``content_block_stop``, ``message_delta`` with the stop reason and output tokens,
``message_stop``), which is what the ``anthropic`` SDK's ``messages.stream()`` accumulates.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .stub_turns import Tool, ToolCall, Turn, choice_name, result_text, text_of, tokens


def messages_turn(payload: dict[str, Any]) -> Turn:
    """A Messages request: ``messages`` whose content is a string or blocks, custom tools
    with ``input_schema``, and ``tool_result`` blocks in user messages."""
    tools = [
        Tool(str(t["name"]), t.get("input_schema") or {})
        for t in payload.get("tools") or []
        if isinstance(t, dict) and t.get("type") in (None, "custom") and "name" in t
    ]
    messages = [m for m in payload.get("messages") or [] if isinstance(m, dict)]
    results: list[str] = []
    users: list[str] = []
    ends_with_result = False
    for message in messages:
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        found = [
            result_text(block.get("content"))
            for block in blocks
            if isinstance(block, dict) and block.get("type") == "tool_result"
        ]
        results += found
        ends_with_result = bool(found) and message.get("role") == "user"
        text = text_of(content)
        if message.get("role") == "user" and text is not None:
            users.append(text)
    return Turn(
        tools=tools,
        tool_choice=choice_name(payload.get("tool_choice")),
        tool_result=results[-1] if results else None,
        ends_with_tool_result=ends_with_result,
        last_user_text=users[-1] if users else None,
    )


def input_tokens(payload: dict[str, Any]) -> int:
    """The stand-in count of a Messages request's input tokens."""
    return tokens(json.dumps([payload.get("system"), payload.get("messages")]))


def content_block(text: str | None, call: ToolCall | None) -> dict[str, Any]:
    """The reply's one content block."""
    if call is not None:
        return {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
    return {"type": "text", "text": text or ""}


def _usage(input_count: int, output_count: int) -> dict[str, Any]:
    return {
        "input_tokens": input_count,
        "output_tokens": output_count,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def message_body(
    *,
    number: int,
    model: str,
    content: list[dict[str, Any]],
    stop_reason: str | None,
    usage: tuple[int, int],
) -> dict[str, Any]:
    """A Message object."""
    return {
        "id": f"msg_stub{number:04d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": _usage(*usage),
    }


def stop_reason(call: ToolCall | None) -> str:
    """``tool_use`` for a tool call, else ``end_turn``."""
    return "tool_use" if call is not None else "end_turn"


def stream_events(
    *,
    number: int,
    model: str,
    text: str | None,
    call: ToolCall | None,
    usage: tuple[int, int],
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The streamed events of one reply, as (event type, event) pairs."""
    start = message_body(number=number, model=model, content=[], stop_reason=None, usage=usage)
    start["usage"] = _usage(usage[0], 1)
    yield "message_start", {"type": "message_start", "message": start}
    if call is not None:
        first = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        arguments = call.arguments_json
        middle = len(arguments) // 2
        deltas = [
            {"type": "input_json_delta", "partial_json": piece}
            for piece in (arguments[:middle], arguments[middle:])
        ]
    else:
        first = {"type": "text", "text": ""}
        words = (text or "").split(" ")
        deltas = [
            {"type": "text_delta", "text": w if i == len(words) - 1 else w + " "}
            for i, w in enumerate(words)
        ]
    yield "content_block_start", {"type": "content_block_start", "index": 0, "content_block": first}
    for delta in deltas:
        yield "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(call), "stop_sequence": None},
            "usage": {"output_tokens": usage[1]},
        },
    )
    yield "message_stop", {"type": "message_stop"}
