"""OpenInference semantic conventions (Arize Phoenix and its instrumentations)."""

from __future__ import annotations

from typing import Any

from .fields import Resolved, first_float, first_int, first_str, string_list
from .messages import Message, render_text, unflatten
from .values import parse_json_text

SPAN_KINDS = {
    "LLM": "llm",
    "CHAIN": "chain",
    "TOOL": "tool",
    "AGENT": "agent",
    "RETRIEVER": "retriever",
    "RERANKER": "retriever",
    "EMBEDDING": "embedding",
    "EVALUATOR": "evaluator",
    "GUARDRAIL": "guardrail",
    "UNKNOWN": "other",
}

MODEL_KEYS = ("llm.model_name", "embedding.model_name")
PROVIDER_KEYS = ("llm.provider", "llm.system")
INPUT_TOKEN_KEYS = ("llm.token_count.prompt",)
OUTPUT_TOKEN_KEYS = ("llm.token_count.completion",)
TOTAL_TOKEN_KEYS = ("llm.token_count.total",)
COST_KEYS = ("llm.cost.total",)


def resolve(attrs: dict[str, Any], out: Resolved) -> None:
    """Fill the fields still unset in ``out`` from OpenInference attributes."""
    if out.kind is None:
        kind = attrs.get("openinference.span.kind")
        if isinstance(kind, str):
            out.kind = SPAN_KINDS.get(kind.upper())
    if out.model is None:
        out.model = first_str(attrs, MODEL_KEYS)
    if out.provider is None:
        out.provider = first_str(attrs, PROVIDER_KEYS)
    if out.input_tokens is None:
        out.input_tokens = first_int(attrs, INPUT_TOKEN_KEYS, out.warnings)
    if out.output_tokens is None:
        out.output_tokens = first_int(attrs, OUTPUT_TOKEN_KEYS, out.warnings)
    if out.total_tokens is None:
        out.total_tokens = first_int(attrs, TOTAL_TOKEN_KEYS, out.warnings)
    if out.cost_usd is None:
        out.cost_usd = first_float(attrs, COST_KEYS, out.warnings)
    if out.session_id is None:
        out.session_id = first_str(attrs, ("session.id",))
    if out.user_id is None:
        out.user_id = first_str(attrs, ("user.id",))
    if not out.tags and "tag.tags" in attrs:
        out.tags = string_list(attrs["tag.tags"])
    if "metadata" in attrs:
        metadata = parse_json_text(attrs["metadata"])
        if isinstance(metadata, dict):
            for key, value in metadata.items():
                out.metadata.setdefault(key, value)
        else:
            out.warnings.append("metadata: not a JSON object")

    if out.input is None:
        messages = _messages(attrs, "llm.input_messages")
        out.input = render_text(messages) if messages else first_str(attrs, ("input.value",))
    if out.output is None:
        messages = _messages(attrs, "llm.output_messages")
        out.output = render_text(messages) if messages else first_str(attrs, ("output.value",))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _messages(attrs: dict[str, Any], prefix: str) -> list[Message]:
    # Flattened messages always start at index 0 with a role or content: two dict lookups
    # instead of a scan over every key.
    if f"{prefix}.0.message.role" not in attrs and f"{prefix}.0.message.content" not in attrs:
        return []
    rebuilt = unflatten(attrs, prefix)
    if not isinstance(rebuilt, list):
        return []
    messages: list[Message] = []
    for item in rebuilt:
        body = item.get("message") if isinstance(item, dict) else None
        if not isinstance(body, dict):
            continue
        content = body.get("content")
        if content is None and isinstance(body.get("contents"), list):
            content = "\n".join(
                str(part["message_content"]["text"])
                for part in body["contents"]
                if isinstance(part, dict)
                and isinstance(part.get("message_content"), dict)
                and part["message_content"].get("text") not in (None, "")
            )
        message: Message = {"role": str(body.get("role") or "unknown"), "content": content or ""}
        calls = body.get("tool_calls")
        if isinstance(calls, list):
            message["tool_calls"] = [
                {
                    "name": function.get("name"),
                    "arguments": function.get("arguments"),
                    "id": call["tool_call"].get("id"),
                }
                for call in calls
                if isinstance(call, dict) and isinstance(call.get("tool_call"), dict)
                for function in [_dict(call["tool_call"].get("function"))]
            ]
        messages.append(message)
    return messages
