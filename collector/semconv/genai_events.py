"""Messages carried by span events instead of attributes (OTel GenAI).

- The deprecated per-message events: ``gen_ai.system.message``, ``gen_ai.user.message``,
  ``gen_ai.assistant.message``, ``gen_ai.tool.message`` (attributes ``content``, ``role``,
  ``tool_calls``, ``id``) and ``gen_ai.choice`` (``message``, ``finish_reason``).
- ``gen_ai.client.inference.operation.details``: the current event holding
  ``gen_ai.input.messages`` / ``gen_ai.output.messages`` / ``gen_ai.system_instructions``.
- Semantic Kernel's older ``gen_ai.content.prompt`` / ``gen_ai.content.completion`` events
  (attributes ``gen_ai.prompt`` / ``gen_ai.completion``).

Read only when a span's attributes gave no input or output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .fields import Resolved
from .genai_messages import (
    INPUT_MESSAGES_KEY,
    OUTPUT_MESSAGES_KEY,
    SYSTEM_KEY,
    message_list,
    system_messages,
)
from .messages import Message, messages_in, read_message, render_text, text_of
from .values import parse_json_text

INPUT_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
CHOICE_EVENT = "gen_ai.choice"
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
PROMPT_EVENT = "gen_ai.content.prompt"
COMPLETION_EVENT = "gen_ai.content.completion"


def resolve(events: Sequence[dict[str, Any]], out: Resolved) -> None:
    """Fill ``input``/``output`` (still unset) from the span's message events."""
    inputs: list[Message] = []
    outputs: list[Message] = []
    for event in events:
        name = event.get("name")
        attrs = event.get("attributes")
        if not isinstance(attrs, dict):
            continue
        role = INPUT_EVENTS.get(name) if isinstance(name, str) else None
        if role is not None:
            inputs.append(_event_message(attrs, role))
        elif name == CHOICE_EVENT:
            outputs.append(_choice_message(attrs))
        elif name == DETAILS_EVENT:
            inputs += system_messages(attrs.get(SYSTEM_KEY), out)
            inputs += message_list(attrs.get(INPUT_MESSAGES_KEY), INPUT_MESSAGES_KEY, out)
            outputs += message_list(attrs.get(OUTPUT_MESSAGES_KEY), OUTPUT_MESSAGES_KEY, out)
        elif name == PROMPT_EVENT:
            inputs += _whole(attrs.get("gen_ai.prompt"), "user")
        elif name == COMPLETION_EVENT:
            outputs += _whole(attrs.get("gen_ai.completion"), "assistant")
    if out.input is None and inputs:
        out.set_input(render_text(inputs), inputs)
    if out.output is None and outputs:
        out.set_output(render_text(outputs), outputs)


def _event_message(attrs: dict[str, Any], role: str) -> Message:
    body = {
        "role": attrs.get("role") or role,
        "content": parse_json_text(attrs.get("content")),
        "tool_calls": attrs.get("tool_calls"),
        "tool_call_id": attrs.get("id") if role == "tool" else None,
    }
    return read_message({k: v for k, v in body.items() if v is not None})


def _choice_message(attrs: dict[str, Any]) -> Message:
    body = parse_json_text(attrs.get("message"))
    if not isinstance(body, dict):
        body = {"content": attrs.get("message", attrs.get("content"))}
    message = read_message({"role": "assistant", **body})
    return message


def _whole(value: Any, role: str) -> list[Message]:
    if value is None or value == "":
        return []
    messages = messages_in(value)
    if messages:
        return messages
    return [read_message({"role": role, "content": text_of(value)})]
