"""Chat messages of a span, rebuilt for display from whichever shape the client sent. No
Streamlit here.

Sources, first hit wins per side (input, output): the raw attributes (OTel GenAI
``gen_ai.input.messages`` / ``gen_ai.output.messages`` and ``gen_ai.system_instructions``,
OpenInference ``llm.input_messages.N.message.*``), then the ``input``/``output`` text when it
is JSON holding messages (``{"messages": [...]}``, a list of messages, an OpenAI completion
with ``choices``). Everything here is untrusted text; the page shows it with ``st.text``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from loopwise.collector.semconv.messages import unflatten

from .api import Record

KNOWN_ROLES = ("system", "user", "assistant", "tool")
MAX_MESSAGES = 200


@dataclass(frozen=True)
class ChatMessage:
    """One message: its role as sent (any text) and its content as plain text."""

    role: str
    content: str

    @property
    def kind(self) -> str:
        """The role when it is one of ``KNOWN_ROLES`` (case-insensitive), else ``other``."""
        role = self.role.strip().lower()
        if role in ("human",):
            return "user"
        if role in ("ai", "model"):
            return "assistant"
        return role if role in KNOWN_ROLES else "other"


def span_messages(span: Record) -> tuple[list[ChatMessage], list[ChatMessage]]:
    """The span's input and output messages; empty lists when it holds none."""
    attributes = _json(span.get("attributes"))
    attrs = attributes if isinstance(attributes, dict) else {}
    inputs = _genai(attrs, "gen_ai.system_instructions", "system")
    inputs += _genai(attrs, "gen_ai.input.messages", None)
    inputs = inputs or _openinference(attrs, "llm.input_messages")
    inputs = inputs or _from_text(span.get("input"))
    outputs = _genai(attrs, "gen_ai.output.messages", None)
    outputs = outputs or _openinference(attrs, "llm.output_messages")
    outputs = outputs or _from_text(span.get("output"))
    return inputs[:MAX_MESSAGES], outputs[:MAX_MESSAGES]


def _json(value: object) -> Any:
    if not isinstance(value, str):
        return value
    stripped = value.strip()
    if stripped[:1] not in ("{", "["):
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None


def _genai(attrs: dict[str, Any], key: str, role: str | None) -> list[ChatMessage]:
    value = _json(attrs.get(key))
    if not isinstance(value, list):
        return []
    if role is not None:  # system instructions: a list of parts, not of messages
        text = _parts_text(value)
        return [ChatMessage(role, text)] if text else []
    return [m for item in value if (m := _message(item)) is not None]


def _openinference(attrs: dict[str, Any], prefix: str) -> list[ChatMessage]:
    if f"{prefix}.0.message.role" not in attrs and f"{prefix}.0.message.content" not in attrs:
        return []
    rebuilt = unflatten(attrs, prefix)
    if not isinstance(rebuilt, list):
        return []
    return [
        m
        for item in rebuilt
        if isinstance(item, dict) and (m := _message(item.get("message"))) is not None
    ]


def _from_text(value: object) -> list[ChatMessage]:
    parsed = _json(value)
    if isinstance(parsed, dict):
        if isinstance(parsed.get("messages"), list):
            parsed = parsed["messages"]
        elif isinstance(parsed.get("choices"), list):
            parsed = [c.get("message") for c in parsed["choices"] if isinstance(c, dict)]
    if not isinstance(parsed, list):
        return []
    messages = [_message(item) for item in parsed]
    if not messages or any(m is None for m in messages):
        return []  # a list of something else: not a conversation
    return [m for m in messages if m is not None]


def _message(item: object) -> ChatMessage | None:
    if not isinstance(item, dict) or "role" not in item:
        return None
    role = str(item.get("role") or "unknown")
    content, parts = item.get("content"), item.get("parts")
    if isinstance(content, list):
        text = _parts_text(content)
    elif content is None:
        text = _parts_text(parts) if isinstance(parts, list) else ""
    else:
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    calls = _tool_calls(item.get("tool_calls"))
    if calls:
        text = "\n".join(filter(None, [text, *calls]))
    return ChatMessage(role, text)


def _parts_text(parts: list[Any]) -> str:
    texts: list[str] = []
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict):
            if part.get("type") == "tool_call" or "arguments" in part:
                texts.append(_call_text(part.get("name"), part.get("arguments")))
            else:
                text = part.get("content", part.get("text", part.get("result")))
                if text is not None:
                    texts.append(text if isinstance(text, str) else json.dumps(text))
    return "\n".join(texts)


def _tool_calls(calls: object) -> list[str]:
    if not isinstance(calls, list):
        return []
    lines: list[str] = []
    for call in calls:
        if isinstance(call, dict) and isinstance(call.get("tool_call"), dict):
            call = call["tool_call"]  # OpenInference nests each call one level deeper
        if not isinstance(call, dict):
            continue
        nested = call.get("function")
        function: dict[str, Any] = nested if isinstance(nested, dict) else call
        lines.append(_call_text(function.get("name"), function.get("arguments")))
    return lines


def _call_text(name: object, arguments: object) -> str:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return f"→ {name or '?'}({'' if arguments is None else args})"
