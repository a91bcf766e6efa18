"""The OpenAI Responses API (``POST /v1/responses``) as the stub answers it.

A reply is one output item: an assistant ``message`` with one ``output_text`` part, or one
``function_call``. Streaming sends the events the API sends, in its order
(``response.created``, ``response.in_progress``, ``response.output_item.added``,
``response.content_part.added``, ``response.output_text.delta`` per word, the ``.done``
events, ``response.completed`` with the whole response and its usage), each numbered by
``sequence_number``, which is what the openai SDK's ``responses.stream()`` accumulates.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .stub_turns import Tool, ToolCall, Turn, choice_name, result_text, text_of, tokens


def responses_turn(payload: dict[str, Any]) -> Turn:
    """A Responses request: ``input`` (a string or items) and flat function ``tools``."""
    tools = [
        Tool(str(t["name"]), t.get("parameters") or {})
        for t in payload.get("tools") or []
        if isinstance(t, dict) and t.get("type") == "function" and "name" in t
    ]
    raw = payload.get("input")
    items: list[Any] = [{"role": "user", "content": raw}] if isinstance(raw, str) else raw or []
    items = [item for item in items if isinstance(item, dict)]
    results = [
        result_text(item.get("output"))
        for item in items
        if item.get("type") == "function_call_output"
    ]
    users = [
        text_of(item.get("content"))
        for item in items
        if item.get("role") == "user" and item.get("type", "message") == "message"
    ]
    return Turn(
        tools=tools,
        tool_choice=choice_name(payload.get("tool_choice")),
        tool_result=results[-1] if results else None,
        ends_with_tool_result=bool(items) and items[-1].get("type") == "function_call_output",
        last_user_text=next((u for u in reversed(users) if u is not None), None),
    )


def input_tokens(payload: dict[str, Any]) -> int:
    """The stand-in count of a Responses request's input tokens."""
    return tokens(json.dumps([payload.get("instructions"), payload.get("input")]))


def output_item(number: int, text: str | None, call: ToolCall | None) -> dict[str, Any]:
    """The reply's one output item, completed."""
    if call is not None:
        return {
            "id": f"fc_{number}",
            "type": "function_call",
            "status": "completed",
            "call_id": call.id,
            "name": call.name,
            "arguments": call.arguments_json,
        }
    return {
        "id": f"msg_{number}",
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [_text_part(text or "")],
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def response_body(
    payload: dict[str, Any],
    *,
    number: int,
    created: int,
    model: str,
    output: list[dict[str, Any]],
    usage: tuple[int, int] | None,
) -> dict[str, Any]:
    """A Response object; ``usage`` (input, output tokens) None while it is in progress."""
    tools = [
        {"strict": None, "description": None, **tool}
        for tool in payload.get("tools") or []
        if isinstance(tool, dict)
    ]
    body: dict[str, Any] = {
        "id": f"resp_{number}",
        "object": "response",
        "created_at": created,
        "status": "completed" if usage is not None else "in_progress",
        "model": model,
        "output": output,
        "instructions": payload.get("instructions"),
        "tools": tools,
        "tool_choice": payload.get("tool_choice") or "auto",
        "parallel_tool_calls": payload.get("parallel_tool_calls", True),
        "temperature": payload.get("temperature", 1.0),
        "top_p": payload.get("top_p", 1.0),
        "max_output_tokens": payload.get("max_output_tokens"),
        "previous_response_id": payload.get("previous_response_id"),
        "metadata": payload.get("metadata") or {},
        "text": payload.get("text") or {"format": {"type": "text"}},
        "truncation": "disabled",
        "error": None,
        "incomplete_details": None,
        "usage": None,
    }
    if usage is not None:
        body["completed_at"] = created
        body["usage"] = {
            "input_tokens": usage[0],
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": usage[1],
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage[0] + usage[1],
        }
    return body


def stream_events(
    payload: dict[str, Any],
    *,
    number: int,
    created: int,
    model: str,
    text: str | None,
    call: ToolCall | None,
    usage: tuple[int, int],
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The streamed events of one reply, as (event type, event) pairs."""
    sequence = 0

    def event(kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
        nonlocal sequence
        sequence += 1
        return kind, {"type": kind, "sequence_number": sequence - 1, **fields}

    def body(output: list[dict[str, Any]], final: bool) -> dict[str, Any]:
        return response_body(
            payload,
            number=number,
            created=created,
            model=model,
            output=output,
            usage=usage if final else None,
        )

    done = output_item(number, text, call)
    item_id = done["id"]
    yield event("response.created", response=body([], False))
    yield event("response.in_progress", response=body([], False))
    if call is not None:
        added = {**done, "status": "in_progress", "arguments": ""}
        yield event("response.output_item.added", output_index=0, item=added)
        for piece in _pieces(call.arguments_json):
            yield event(
                "response.function_call_arguments.delta",
                item_id=item_id,
                output_index=0,
                delta=piece,
            )
        yield event(
            "response.function_call_arguments.done",
            item_id=item_id,
            output_index=0,
            name=call.name,
            arguments=call.arguments_json,
        )
    else:
        whole = text or ""
        added = {**done, "status": "in_progress", "content": []}
        yield event("response.output_item.added", output_index=0, item=added)
        where = {"item_id": item_id, "output_index": 0, "content_index": 0}
        yield event("response.content_part.added", **where, part=_text_part(""))
        for piece in _words(whole):
            yield event("response.output_text.delta", **where, delta=piece, logprobs=[])
        yield event("response.output_text.done", **where, text=whole, logprobs=[])
        yield event("response.content_part.done", **where, part=_text_part(whole))
    yield event("response.output_item.done", output_index=0, item=done)
    yield event("response.completed", response=body([done], True))


def _words(text: str) -> list[str]:
    """``text`` in pieces that join back to it, one word (with its space) each."""
    words = text.split(" ")
    return [w if i == len(words) - 1 else w + " " for i, w in enumerate(words)]


def _pieces(text: str) -> list[str]:
    """``text`` in two pieces (one when it is short), as arguments arrive in deltas."""
    middle = len(text) // 2
    return [text[:middle], text[middle:]] if middle else [text]
