"""Reading the OTel GenAI message attributes (``gen_ai.input.messages``,
``gen_ai.output.messages``, ``gen_ai.system_instructions``), on spans and on events."""

from __future__ import annotations

from typing import Any

from .fields import Resolved
from .messages import Message, make_message, read_messages, read_parts
from .values import parse_json_text

SYSTEM_KEY = "gen_ai.system_instructions"
INPUT_MESSAGES_KEY = "gen_ai.input.messages"
OUTPUT_MESSAGES_KEY = "gen_ai.output.messages"


def message_list(raw: Any, key: str, out: Resolved) -> list[Message]:
    """Messages from a ``gen_ai.*.messages`` value (JSON text, or an array sent as is)."""
    if raw is None:
        return []
    parsed = parse_json_text(raw)
    if isinstance(parsed, dict):
        parsed = [parsed]
    if not isinstance(parsed, list):  # not JSON: the raw text stays in attributes
        out.warn(f"{key}: not a JSON array of messages")
        return []
    return read_messages(parsed)


def system_messages(raw: Any, out: Resolved) -> list[Message]:
    """``gen_ai.system_instructions`` (a list of parts, or plain text) as one system message."""
    if raw is None:
        return []
    parsed = parse_json_text(raw)
    if isinstance(parsed, dict):
        parsed = [parsed]
    if isinstance(parsed, str):  # instructions given as plain text
        return [make_message("system", parsed)] if parsed else []
    if not isinstance(parsed, list):
        out.warn(f"{SYSTEM_KEY}: not a JSON array of parts")
        return []
    text, _, _ = read_parts(parsed)
    return [make_message("system", text)]
