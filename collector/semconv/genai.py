"""OpenTelemetry GenAI semantic conventions (``gen_ai.*``), current names first."""

from __future__ import annotations

from typing import Any

from .fields import Resolved, first_int, first_str
from .messages import Message, render_text
from .values import parse_json_text, to_json

OPERATION_KINDS = {
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "embeddings": "embedding",
    "execute_tool": "tool",
    "invoke_agent": "agent",
    "create_agent": "agent",
}

MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model")
PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system")
INPUT_TOKEN_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
OUTPUT_TOKEN_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
SESSION_KEYS = ("gen_ai.conversation.id",)


def resolve(attrs: dict[str, Any], out: Resolved) -> None:
    """Fill the fields still unset in ``out`` from GenAI attributes."""
    if out.kind is None:
        operation = attrs.get("gen_ai.operation.name")
        if isinstance(operation, str):
            out.kind = OPERATION_KINDS.get(operation)
    if out.model is None:
        out.model = first_str(attrs, MODEL_KEYS)
    if out.provider is None:
        out.provider = first_str(attrs, PROVIDER_KEYS)
    if out.input_tokens is None:
        out.input_tokens = first_int(attrs, INPUT_TOKEN_KEYS, out.warnings)
    if out.output_tokens is None:
        out.output_tokens = first_int(attrs, OUTPUT_TOKEN_KEYS, out.warnings)
    if out.session_id is None:
        out.session_id = first_str(attrs, SESSION_KEYS)

    if out.input is None:
        messages = _messages(attrs, "gen_ai.system_instructions", "system", out.warnings)
        messages += _messages(attrs, "gen_ai.input.messages", None, out.warnings)
        if messages:
            out.input = render_text(messages)
        elif "gen_ai.tool.call.arguments" in attrs:
            out.input = _text(attrs["gen_ai.tool.call.arguments"])
    if out.output is None:
        messages = _messages(attrs, "gen_ai.output.messages", None, out.warnings)
        if messages:
            out.output = render_text(messages)
        elif "gen_ai.tool.call.result" in attrs:
            out.output = _text(attrs["gen_ai.tool.call.result"])


def _text(value: Any) -> str:
    return value if isinstance(value, str) else to_json(value)


def _messages(
    attrs: dict[str, Any], key: str, role: str | None, warnings: list[str]
) -> list[Message]:
    raw = attrs.get(key)
    if raw is None:
        return []
    parsed = parse_json_text(raw)
    if isinstance(parsed, str):  # not JSON: the field stays null, the raw text stays in attributes
        warnings.append(f"{key}: not a JSON array of messages")
        return []
    if isinstance(parsed, dict):
        parsed = [parsed]
    if not isinstance(parsed, list):
        warnings.append(f"{key}: not a JSON array of messages")
        return []
    if role is not None:
        # system_instructions is a list of parts, not of messages.
        return [{"role": role, **_parts_to_message(parsed)}]
    messages: list[Message] = []
    for item in parsed:
        if not isinstance(item, dict):
            messages.append({"role": "unknown", "content": str(item)})
            continue
        message: Message = {"role": str(item.get("role") or "unknown")}
        if "parts" in item and isinstance(item["parts"], list):
            message.update(_parts_to_message(item["parts"]))
        else:
            message["content"] = _text(item.get("content", ""))
        messages.append(message)
    return messages


def _parts_to_message(parts: list[Any]) -> Message:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in parts:
        if not isinstance(part, dict):
            texts.append(str(part))
            continue
        kind = part.get("type")
        if kind == "tool_call":
            calls.append(
                {
                    "name": part.get("name"),
                    "arguments": _text(part.get("arguments", "")),
                    "id": part.get("id"),
                }
            )
        elif kind == "tool_call_response":
            texts.append(_text(part.get("response", "")))
        elif "content" in part:
            texts.append(_text(part["content"]))
    message: Message = {"content": "\n".join(texts)}
    if calls:
        message["tool_calls"] = calls
    return message
