"""Vercel AI SDK telemetry (``ai.*``): ``ai.generateText`` and friends (chain), their
``.doGenerate``/``.doStream`` provider calls (llm), ``.doEmbed`` (embedding), ``ai.toolCall``
(tool). Messages from ``ai.prompt.messages`` or ``ai.prompt``; output from
``ai.response.text`` with ``ai.response.toolCalls``; tool spans' ``ai.toolCall.args`` and
``ai.toolCall.result`` (a JSON-encoded string without its quotes); session, user and tags from
``ai.telemetry.metadata.{sessionId,userId,tags}``, the other metadata keys as metadata.
"""

from __future__ import annotations

from typing import Any

from .fields import (
    Resolved,
    fill_tokens,
    first_str,
    merge_metadata,
    string_list,
    take_value,
    token_keys,
)
from .messages import Message, make_message, messages_in, read_parts, render_text, tool_call
from .values import parse_json_text

MARKERS = ("ai.operationId", "ai.model.id", "ai.toolCall.name")
LEAF_KINDS = {".doGenerate": "llm", ".doStream": "llm", ".doEmbed": "embedding"}
METADATA = "ai.telemetry.metadata."
TRACE_KEYS = {METADATA + "sessionId", METADATA + "userId", METADATA + "tags"}
INPUT_TOKEN_KEYS = ("ai.usage.inputTokens", "ai.usage.promptTokens")
OUTPUT_TOKEN_KEYS = ("ai.usage.outputTokens", "ai.usage.completionTokens")
TOTAL_TOKEN_KEYS = ("ai.usage.totalTokens", "ai.usage.tokens")
TOKENS = token_keys(
    input_tokens=INPUT_TOKEN_KEYS,
    output_tokens=OUTPUT_TOKEN_KEYS,
    total_tokens=TOTAL_TOKEN_KEYS,
    cache_read_tokens=("ai.usage.cachedInputTokens",),
    reasoning_tokens=("ai.usage.reasoningTokens",),
)
INPUT_TEXT_KEYS = ("ai.toolCall.args", "ai.toolCall.input", "ai.value")
OUTPUT_TEXT_KEYS = (
    "ai.response.object",
    "ai.toolCall.result",
    "ai.toolCall.output",
    "ai.result.text",
    "ai.result.object",
)


def resolve(attrs: dict[str, Any], out: Resolved) -> None:
    """Fill the fields still unset in ``out`` from Vercel AI SDK attributes."""
    if attrs.keys().isdisjoint(MARKERS):
        return
    operation = attrs.get("ai.operationId")
    if out.kind is None and isinstance(operation, str):
        out.kind = _kind(operation)
    if out.model is None:
        out.model = first_str(attrs, ("ai.response.model", "ai.model.id"))
    provider = attrs.get("ai.model.provider")
    if isinstance(provider, str) and out.provider in (None, provider):
        out.provider = provider.split(".", 1)[0]  # "openai.chat" → "openai"
    fill_tokens(out, attrs, TOKENS)
    if out.session_id is None:
        out.session_id = first_str(attrs, (METADATA + "sessionId",))
    if out.user_id is None:
        out.user_id = first_str(attrs, (METADATA + "userId",))
    if not out.tags and METADATA + "tags" in attrs:
        out.tags = string_list(attrs[METADATA + "tags"])
    found = {
        key[len(METADATA) :]: value
        for key, value in attrs.items()
        if key.startswith(METADATA) and key not in TRACE_KEYS
    }
    if "ai.telemetry.functionId" in attrs:
        found["function_id"] = attrs["ai.telemetry.functionId"]
    if found:
        merge_metadata(out, found)

    if out.input is None:
        messages = _input_messages(attrs)
        if messages:
            out.set_input(render_text(messages), messages)
        else:  # JSON-encoded strings ('"Sunny"') lose their quotes
            any(
                take_value(attrs, key, out, output=False, find_messages=False)
                for key in INPUT_TEXT_KEYS
            )
    if out.output is None:
        messages = _output_messages(attrs)
        if messages:
            out.set_output(render_text(messages), messages)
        else:
            any(
                take_value(attrs, key, out, output=True, find_messages=False)
                for key in OUTPUT_TEXT_KEYS
            )


def _kind(operation: str) -> str:
    for suffix, kind in LEAF_KINDS.items():
        if operation.endswith(suffix):
            return kind
    return "tool" if operation == "ai.toolCall" else "chain"


def _input_messages(attrs: dict[str, Any]) -> list[Message] | None:
    if "ai.prompt.messages" in attrs:
        messages = messages_in(attrs["ai.prompt.messages"])
        if messages:
            return messages
    prompt = parse_json_text(attrs.get("ai.prompt"))
    if not isinstance(prompt, dict):
        return None
    found: list[Message] = []
    if isinstance(prompt.get("system"), str):
        found.append(make_message("system", prompt["system"]))
    if isinstance(prompt.get("messages"), list):
        found += messages_in({"messages": prompt["messages"]}) or []
    elif prompt.get("prompt") is not None:
        found.append(make_message("user", read_parts(prompt["prompt"])[0]))
    return found or None


def _output_messages(attrs: dict[str, Any]) -> list[Message] | None:
    text = attrs.get("ai.response.text")
    calls = parse_json_text(attrs.get("ai.response.toolCalls", attrs.get("ai.result.toolCalls")))
    tool_calls = [
        tool_call(c.get("toolCallId"), c.get("toolName"), c.get("args", c.get("input")))
        for c in (calls if isinstance(calls, list) else [])
        if isinstance(c, dict)
    ]
    if (text is None or text == "") and not tool_calls:
        return None
    return [make_message("assistant", "" if text is None else str(text), tool_calls)]
