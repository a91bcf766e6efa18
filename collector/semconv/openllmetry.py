"""OpenLLMetry (Traceloop) attributes: ``traceloop.*`` on workflow/task/agent/tool spans, and
the older LLM span keys its instrumentations wrote before they moved to OTel GenAI:
flattened ``gen_ai.prompt.N.*`` / ``gen_ai.completion.N.*`` messages, ``llm.request.type``,
``llm.usage.total_tokens``. Association properties (``traceloop.association.properties.*``)
give session, user and metadata; the managed prompt's key and version go to metadata.
"""

from __future__ import annotations

from typing import Any

from .fields import (
    Resolved,
    fill_tokens,
    first_str,
    json_scalar,
    merge_metadata,
    take_value,
    token_keys,
)
from .messages import Message, read_messages, render_text, unflatten
from .values import parse_json_text

SPAN_KINDS = {
    "workflow": "chain",
    "task": "chain",
    "agent": "agent",
    "tool": "tool",
    "unknown": "other",
}
REQUEST_KINDS = {
    "chat": "llm",
    "completion": "llm",
    "embedding": "embedding",
    "rerank": "retriever",
}
MARKERS = (
    "traceloop.span.kind",
    "traceloop.entity.name",
    "traceloop.workflow.name",
    "traceloop.entity.input",
    "traceloop.entity.output",
    "llm.request.type",
    "llm.usage.total_tokens",
    "gen_ai.prompt.0.content",
    "gen_ai.prompt.0.role",
    "gen_ai.completion.0.content",
    "gen_ai.completion.0.role",
)
PROPERTIES = "traceloop.association.properties."
SESSION_KEYS = tuple(
    PROPERTIES + name for name in ("session_id", "sessionId", "session", "conversation_id")
)
USER_KEYS = tuple(PROPERTIES + name for name in ("user_id", "userId", "user"))
MODEL_KEYS = ("llm.response.model", "llm.request.model")
PROVIDER_KEYS = ("llm.vendor",)
TOTAL_TOKEN_KEYS = ("llm.usage.total_tokens",)
REASONING_KEYS = ("llm.usage.reasoning_tokens",)
TOKENS = token_keys(total_tokens=TOTAL_TOKEN_KEYS, reasoning_tokens=REASONING_KEYS)


def resolve(attrs: dict[str, Any], out: Resolved) -> None:
    """Fill the fields still unset in ``out`` from OpenLLMetry attributes."""
    if attrs.keys().isdisjoint(MARKERS):
        return
    if out.kind is None:
        kind = attrs.get("traceloop.span.kind")
        request = attrs.get("llm.request.type")
        if isinstance(kind, str):
            out.kind = SPAN_KINDS.get(kind)
        elif isinstance(request, str):
            out.kind = REQUEST_KINDS.get(request)
    if out.model is None:
        out.model = first_str(attrs, MODEL_KEYS)
    if out.provider is None:
        out.provider = first_str(attrs, PROVIDER_KEYS)
    fill_tokens(out, attrs, TOKENS)
    if out.session_id is None:
        out.session_id = first_str(attrs, SESSION_KEYS)
    if out.user_id is None:
        out.user_id = first_str(attrs, USER_KEYS)
    _metadata(attrs, out)

    if out.input is None:
        messages = _messages(attrs, "gen_ai.prompt")
        if messages:
            out.set_input(render_text(messages), messages)
        else:
            take_value(attrs, "traceloop.entity.input", out, output=False, find_messages=False)
    if out.output is None:
        messages = _messages(attrs, "gen_ai.completion")
        if messages:
            out.set_output(render_text(messages), messages)
        else:
            take_value(attrs, "traceloop.entity.output", out, output=True, find_messages=False)


def _messages(attrs: dict[str, Any], prefix: str) -> list[Message]:
    """``prefix.N.role`` / ``.content`` / ``.tool_calls.M.{id,name,arguments}`` rebuilt."""
    if f"{prefix}.0.role" not in attrs and f"{prefix}.0.content" not in attrs:
        return []
    rebuilt = unflatten(attrs, prefix)
    if not isinstance(rebuilt, list):
        return []
    items = []
    for item in rebuilt:
        if not isinstance(item, dict):
            continue
        body = dict(item)
        content = body.get("content")
        if isinstance(content, str) and content[:1] == "[":  # content parts as JSON
            parts = parse_json_text(content)
            if isinstance(parts, list):
                body["content"] = parts
        calls = body.get("tool_calls")
        if isinstance(calls, list):  # flattened: {id, name, arguments}, not OpenAI's shape
            body["tool_calls"] = [
                {
                    "id": c.get("id"),
                    "function": {"name": c.get("name"), "arguments": c.get("arguments")},
                }
                for c in calls
                if isinstance(c, dict)
            ]
        items.append(body)
    return read_messages(items)


def _metadata(attrs: dict[str, Any], out: Resolved) -> None:
    found: dict[str, Any] = {}
    if "traceloop.workflow.name" in attrs or "traceloop.entity.name" in attrs:
        for key, value in attrs.items():  # an OpenLLMetry span: scan for its properties
            if key.startswith(PROPERTIES) and key not in SESSION_KEYS and key not in USER_KEYS:
                found[key[len(PROPERTIES) :]] = value
    for key, name in (
        ("traceloop.workflow.name", "workflow"),
        ("traceloop.prompt.key", "prompt_name"),
        ("traceloop.prompt.version", "prompt_version"),
    ):
        if key in attrs:
            found[name] = json_scalar(attrs[key])
    if found:
        merge_metadata(out, found)
