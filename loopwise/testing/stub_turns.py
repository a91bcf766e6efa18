"""What the stub answers, whichever API asked: a text reply or one tool call.

The three wire formats the stub serves (OpenAI chat completions, the OpenAI Responses API,
Anthropic's Messages API) are read into one ``Turn``: the tools offered, the tool choice,
whether a tool result is already in the conversation, and the texts to echo. ``decide``
then picks the reply, deterministically: when tools are offered and no tool result is
present yet, call the first tool (or the one ``tool_choice`` names) with arguments made from
its JSON schema; otherwise answer with text. Each API's module writes the reply in its own
shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# (tool name, the tool's JSON schema for its parameters) -> the arguments to call it with.
ToolArguments = Callable[[str, dict[str, Any]], dict[str, Any]]
# The request body as sent -> the text of the reply.
Responder = Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class Tool:
    """One function tool a request offers."""

    name: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Turn:
    """A request, read the same way for every API."""

    tools: list[Tool]
    # "auto", "none", "required", or the name of the one tool to call.
    tool_choice: str
    # The text of the last tool result, if the conversation holds one (else None).
    tool_result: str | None
    # Whether the last item of the conversation is a tool result.
    ends_with_tool_result: bool
    last_user_text: str | None


@dataclass(frozen=True)
class ToolCall:
    """The stub's call of one tool."""

    id: str
    name: str
    arguments: dict[str, Any]

    @property
    def arguments_json(self) -> str:
        """The arguments as the JSON string the OpenAI APIs carry."""
        return json.dumps(self.arguments)


def tokens(text: str) -> int:
    """A stand-in token count: one per four characters, at least one."""
    return max(1, len(text) // 4)


def reply_tokens(text: str | None, call: ToolCall | None) -> int:
    """The stand-in count of a reply's output tokens."""
    return tokens(call.name + call.arguments_json if call is not None else text or "")


def echo(turn: Turn) -> str:
    """The default reply text: the tool result when the conversation ends with one, else the
    last user message (``"ok"`` when there is none)."""
    if turn.ends_with_tool_result and turn.tool_result is not None:
        return turn.tool_result
    return turn.last_user_text if turn.last_user_text is not None else "ok"


def decide(turn: Turn, call_id: str, arguments: ToolArguments) -> ToolCall | None:
    """The tool call to answer ``turn`` with, or None for a text answer.

    A tool is called when tools are offered, the choice is not ``"none"`` and no tool result
    is in the conversation yet: the first tool, or the one the choice names.
    """
    if not turn.tools or turn.tool_choice == "none" or turn.tool_result is not None:
        return None
    chosen = next((t for t in turn.tools if t.name == turn.tool_choice), turn.tools[0])
    return ToolCall(call_id, chosen.name, arguments(chosen.name, chosen.parameters))


def schema_arguments(_name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments that satisfy a JSON schema's required properties (all of them when it names
    none): a property's ``default`` or first ``examples``/``enum`` value, else a placeholder
    of its type (``"test"``, ``1``, ``1.0``, ``True``, ``[]``, ``{}``)."""
    value = _value(schema, schema)
    return value if isinstance(value, dict) else {}


_PLACEHOLDERS: dict[str, Any] = {
    "string": "test",
    "integer": 1,
    "number": 1.0,
    "boolean": True,
    "array": [],
    "null": None,
}


def _value(schema: dict[str, Any], root: dict[str, Any], depth: int = 0) -> Any:
    if depth > 8:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _value(target if isinstance(target, dict) else {}, root, depth + 1)
    if "default" in schema:
        return schema["default"]
    for key in ("const",):
        if key in schema:
            return schema[key]
    for key in ("examples", "enum"):
        if isinstance(schema.get(key), list) and schema[key]:
            return schema[key][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key) or [] if isinstance(o, dict)]
        usable = [o for o in options if o.get("type") != "null"] or options
        if usable:
            return _value(usable[0], root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") or {}
        required = schema.get("required") or list(properties)
        return {
            name: _value(properties.get(name) or {}, root, depth + 1)
            for name in required
            if isinstance(name, str)
        }
    return _PLACEHOLDERS.get(str(kind), "test")


def text_of(content: Any) -> str | None:
    """The text of a message's content: a string, or the text of its text parts (``text``,
    ``input_text``, ``output_text``), joined; None when it holds no text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            part["text"]
            for part in content
            if isinstance(part, dict)
            and part.get("type") in ("text", "input_text", "output_text")
            and isinstance(part.get("text"), str)
        ]
        return "".join(texts) if texts else None
    return None


def result_text(content: Any) -> str:
    """A tool result's text: its text parts, else the value as JSON."""
    text = text_of(content)
    return text if text is not None else json.dumps(content)


def choice_name(choice: Any) -> str:
    """A ``tool_choice`` in any of the APIs' shapes, as ``Turn.tool_choice``."""
    if isinstance(choice, str):
        return {"any": "required"}.get(choice, choice)
    if isinstance(choice, dict):
        function = choice.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return str(function["name"])  # chat completions
        if isinstance(choice.get("name"), str):
            return str(choice["name"])  # Responses and Messages
        kind = choice.get("type")
        if kind in ("none", "auto"):
            return str(kind)
        if kind == "any":
            return "required"
    return "auto"


def chat_turn(payload: dict[str, Any]) -> Turn:
    """A chat completions request (``messages``, ``tools`` with ``function``)."""
    tools = [
        Tool(str(f["name"]), f.get("parameters") or {})
        for t in payload.get("tools") or []
        if isinstance(t, dict) and isinstance(f := t.get("function"), dict) and "name" in f
    ]
    messages = [m for m in payload.get("messages") or [] if isinstance(m, dict)]
    results = [result_text(m.get("content")) for m in messages if m.get("role") == "tool"]
    users = [m.get("content") for m in messages if m.get("role") == "user"]
    last_user = None if not users else users[-1]
    last_text = text_of(last_user)
    return Turn(
        tools=tools,
        tool_choice=choice_name(payload.get("tool_choice")),
        tool_result=results[-1] if results else None,
        ends_with_tool_result=bool(messages) and messages[-1].get("role") == "tool",
        last_user_text=(
            last_text if last_text is not None or last_user is None else json.dumps(last_user)
        ),
    )
