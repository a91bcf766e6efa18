"""Chat messages in one canonical shape, rebuilt from whatever a convention sent.

A canonical message is ``{"role": str, "content": str}`` plus ``"tool_calls"`` (a list of
``{"id", "name", "arguments"}``, arguments as text) when the message calls tools and
``"tool_call_id"`` when it answers a call. Content is plain text: text parts are joined with
newlines; images, audio and reasoning parts are left out (the raw attributes keep them).

Readers here understand the message shapes clients send: OpenAI chat (``content`` string or
parts, ``tool_calls``, ``tool_call_id``), OTel GenAI (``parts`` with ``text``, ``tool_call``,
``tool_call_response``), Vercel AI SDK (``tool-call``/``tool-result`` parts), Anthropic
(``tool_use``/``tool_result`` blocks).
"""

from __future__ import annotations

from typing import Any

from .serialized import framework_messages
from .values import parse_json_text, to_json

Message = dict[str, Any]

TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})
SKIPPED_PART_TYPES = frozenset(
    {"reasoning", "thinking", "redacted_thinking", "image", "image_url", "input_image"}
    | {"audio", "input_audio", "blob", "uri", "file", "document"}
)


def text_of(value: Any) -> str:
    """``value`` as text: strings as they are, anything else as compact JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else to_json(value)


def tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    """One canonical tool call; ``arguments`` become text (JSON when they are structured)."""
    return {
        "id": None if call_id is None else str(call_id),
        "name": None if name is None else str(name),
        "arguments": text_of(arguments),
    }


def make_message(
    role: Any,
    content: str,
    tool_calls: list[dict[str, Any]] | None = None,
    tool_call_id: Any = None,
) -> Message:
    """A canonical message (empty ``tool_calls`` and a missing ``tool_call_id`` are left out)."""
    message: Message = {"role": str(role) if role else "unknown", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if tool_call_id is not None and tool_call_id != "":
        message["tool_call_id"] = str(tool_call_id)
    return message


def read_parts(parts: Any) -> tuple[str, list[dict[str, Any]], Any]:
    """``(text, tool_calls, tool_call_id)`` from message content given as a list of parts
    (or a plain string)."""
    if isinstance(parts, str):
        return parts, [], None
    if not isinstance(parts, list):
        return text_of(parts), [], None
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    answered: Any = None
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
            continue
        if not isinstance(part, dict):
            texts.append(text_of(part))
            continue
        kind = part.get("type")
        if kind in TEXT_PART_TYPES or (kind is None and ("text" in part or "content" in part)):
            texts.append(text_of(part.get("text", part.get("content"))))
        elif kind == "tool_call":  # OTel GenAI
            calls.append(tool_call(part.get("id"), part.get("name"), part.get("arguments")))
        elif kind == "tool-call":  # Vercel AI SDK (v4 args, v5 input)
            arguments = part.get("args", part.get("input"))
            calls.append(tool_call(part.get("toolCallId"), part.get("toolName"), arguments))
        elif kind == "tool_use":  # Anthropic
            calls.append(tool_call(part.get("id"), part.get("name"), part.get("input")))
        elif kind == "function_call":  # OpenAI Responses API
            calls.append(tool_call(part.get("call_id"), part.get("name"), part.get("arguments")))
        elif kind == "tool_call_response":  # OTel GenAI
            texts.append(result_text(part.get("response", part.get("result"))))
            answered = part.get("id", answered)
        elif kind == "tool-result":  # Vercel AI SDK (v4 result, v5 typed output)
            texts.append(_tool_output_text(part.get("result", part.get("output"))))
            answered = part.get("toolCallId", answered)
        elif kind == "tool_result":  # Anthropic
            texts.append(read_parts(part.get("content"))[0])
            answered = part.get("tool_use_id", answered)
        elif kind not in SKIPPED_PART_TYPES and isinstance(part.get("content"), str):
            texts.append(part["content"])
    return "\n".join(texts), calls, answered


def result_text(value: Any) -> str:
    """A tool result as text. A result given as content parts (Anthropic's SDK tracer sends
    a ``tool_result`` block's ``[{"type": "text", "text": ...}]`` as the response) is the
    text of its parts; any other value is ``text_of`` it."""
    if (
        isinstance(value, list)
        and value
        and all(
            isinstance(p, dict) and p.get("type") in TEXT_PART_TYPES | SKIPPED_PART_TYPES
            for p in value
        )
        and any(p["type"] in TEXT_PART_TYPES for p in value)
    ):
        return read_parts(value)[0]
    return text_of(value)


# Vercel AI SDK v5 tool outputs: {"type": "text" | "json" | "error-text" | ..., "value": ...}
TYPED_OUTPUT_TYPES = frozenset({"text", "json", "error-text", "error-json", "content"})


def _tool_output_text(output: Any) -> str:
    """A tool result as text; a typed output (``{"type": "text", "value": ...}``) unwrapped."""
    if isinstance(output, dict) and output.get("type") in TYPED_OUTPUT_TYPES and "value" in output:
        value = output["value"]
        if output["type"] == "content" and isinstance(value, list):
            return read_parts(value)[0]
        return text_of(value)
    return text_of(output)


def read_message(item: Any) -> Message:
    """One canonical message from a message object of any known shape."""
    if not isinstance(item, dict):
        return make_message("unknown", text_of(item))
    parts = item["parts"] if isinstance(item.get("parts"), list) else item.get("content")
    text, calls, answered = read_parts(parts)
    openai_calls = item.get("tool_calls")
    if isinstance(openai_calls, str):
        openai_calls = parse_json_text(openai_calls)
    if isinstance(openai_calls, list):
        for call in openai_calls:
            if isinstance(call, dict):
                function = call.get("function")
                function = function if isinstance(function, dict) else call
                calls.append(
                    tool_call(call.get("id"), function.get("name"), function.get("arguments"))
                )
    legacy = item.get("function_call")
    if isinstance(legacy, dict):
        calls.append(tool_call(None, legacy.get("name"), legacy.get("arguments")))
    return make_message(item.get("role"), text, calls, item.get("tool_call_id", answered))


def read_messages(items: list[Any]) -> list[Message]:
    """Canonical messages from a list of message objects (framework serializations too).

    Tool results sent inside another role's message (OTel GenAI ``tool_call_response`` parts
    in a ``user`` message, as pydantic-ai sends them; Anthropic ``tool_result`` blocks), or
    several in one message (Vercel ``tool-result`` parts), become one ``tool`` message per
    result, followed by the message's other parts, if any.
    """
    plain = framework_messages(items)  # LangChain messages, Responses API items
    found: list[Message] = []
    for item in plain if plain is not None else items:
        found += _split_tool_results(item) if _holds_tool_results(item) else [read_message(item)]
    return found


TOOL_RESULT_PARTS = frozenset({"tool_call_response", "tool_result", "tool-result"})


def _holds_tool_results(item: Any) -> bool:
    """True for a message holding tool results that is not one tool message per result."""
    if type(item) is not dict:
        return False
    parts = item.get("parts")
    if type(parts) is not list:
        parts = item.get("content")
        if type(parts) is not list:
            return False
    results = 0
    for part in parts:
        if type(part) is dict and part.get("type") in TOOL_RESULT_PARTS:
            results += 1
    return results > 1 or (results == 1 and item.get("role") != "tool")


def _split_tool_results(item: dict[str, Any]) -> list[Message]:
    key = "parts" if isinstance(item.get("parts"), list) else "content"
    results: list[Any] = []
    rest: list[Any] = []
    for part in item[key]:
        is_result = isinstance(part, dict) and part.get("type") in TOOL_RESULT_PARTS
        (results if is_result else rest).append(part)
    found = [read_message({"role": "tool", key: [part]}) for part in results]
    if rest:
        found.append(read_message({**item, key: rest}))
    return found


def messages_in(value: Any) -> list[Message] | None:
    """The messages held by ``value`` (JSON text or a decoded structure), or None when it
    holds none: a list of messages, one message, ``{"messages": [...]}`` (a chat request),
    ``{"choices": [{"message": ...}]}`` (a chat completion), or a framework serialization
    (LangChain messages, Responses API items: see serialized.py)."""
    parsed = parse_json_text(value) if isinstance(value, str) else value
    converted = framework_messages(parsed)
    if converted is not None:
        return read_messages(converted) or None
    items: list[Any]
    if isinstance(parsed, list):
        if not parsed or not all(isinstance(i, dict) and "role" in i for i in parsed):
            return None
        items = parsed
    elif isinstance(parsed, dict):
        if isinstance(parsed.get("messages"), list):
            items = parsed["messages"]
        elif isinstance(parsed.get("choices"), list):
            items = [
                choice["message"]
                for choice in parsed["choices"]
                if isinstance(choice, dict) and isinstance(choice.get("message"), dict)
            ]
        elif "role" in parsed and any(k in parsed for k in ("content", "parts", "tool_calls")):
            items = [parsed]
        else:
            return None
    else:
        return None
    return read_messages(items) or None


def unflatten(attrs: dict[str, Any], prefix: str) -> Any:
    """Rebuild the nested value whose leaves were flattened under ``prefix.``.

    ``{"p.0.message.role": "user"}`` with prefix ``"p"`` becomes
    ``[{"message": {"role": "user"}}]``.
    Returns None when no key carries the prefix.
    """
    head = prefix + "."
    root: dict[str, Any] = {}
    found = False
    for key, value in attrs.items():
        if not key.startswith(head):
            continue
        found = True
        node = root
        parts = key[len(head) :].split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return _lists_from_digit_keys(root) if found else None


def _lists_from_digit_keys(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {
        key: _lists_from_digit_keys(value) if type(value) is dict else value
        for key, value in node.items()
    }
    if converted and all(map(str.isdigit, converted)):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def render_text(messages: list[Message]) -> str:
    """Plain text of messages for search and evaluation: the content alone for one message,
    ``role: content`` lines for several."""
    if len(messages) == 1:
        return _message_text(messages[0])
    return "\n".join(f"{m.get('role') or 'unknown'}: {_message_text(m)}" for m in messages)


def _message_text(message: Message) -> str:
    content = message.get("content")
    text = content if isinstance(content, str) else ("" if content is None else str(content))
    calls = message.get("tool_calls") or []
    if calls and not text:
        text = "; ".join(f"{c.get('name')}({c.get('arguments') or ''})" for c in calls)
    return text
