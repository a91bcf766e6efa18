"""OpenTelemetry GenAI semantic conventions (``gen_ai.*``): current names first, then the older
ones still in the field (``gen_ai.system``, ``gen_ai.usage.prompt_tokens``, the
``gen_ai.prompt``/``gen_ai.completion`` strings). Message span events: genai_events."""

from __future__ import annotations

from typing import Any

from .fields import Resolved, copy_first, fill_tokens, first_float, first_int, first_str, token_keys
from .genai_messages import (
    INPUT_MESSAGES_KEY,
    OUTPUT_MESSAGES_KEY,
    SYSTEM_KEY,
    message_list,
    system_messages,
)
from .messages import messages_in, render_text

OPERATION_KINDS = {
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "embeddings": "embedding",
    "execute_tool": "tool",
    "invoke_agent": "agent",
    "create_agent": "agent",
    "retrieval": "retriever",
    "invoke_workflow": "chain",
}

MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model")
PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system")
INPUT_TOKEN_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
OUTPUT_TOKEN_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
TOTAL_TOKEN_KEYS = ("gen_ai.usage.total_tokens",)
# Current names, then OpenLLMetry's spelling of the same counts (and the anthropic SDK
# tracer's ``cache_write`` for cache creation).
CACHE_READ_KEYS = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
CACHE_WRITE_KEYS = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
)
REASONING_KEYS = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens")
COST_KEYS = ("gen_ai.usage.cost",)
DETAIL_TOKENS = token_keys(
    total_tokens=TOTAL_TOKEN_KEYS,
    cache_read_tokens=CACHE_READ_KEYS,
    cache_write_tokens=CACHE_WRITE_KEYS,
    reasoning_tokens=REASONING_KEYS,
)
SESSION_KEYS = ("gen_ai.conversation.id",)
PROMPT_NAME_KEY = "gen_ai.prompt.name"
# Text copied verbatim when a span carries no messages (tool and retrieval spans).
INPUT_TEXT_KEYS = ("gen_ai.tool.call.arguments", "gen_ai.retrieval.query.text")
OUTPUT_TEXT_KEYS = ("gen_ai.tool.call.result", "gen_ai.retrieval.documents")
# Deprecated whole-prompt strings (JSON messages or plain text).
OLD_PROMPT_KEY = "gen_ai.prompt"
OLD_COMPLETION_KEY = "gen_ai.completion"
# Any of these present means the span carries GenAI content (one set check when none does).
CONTENT_KEYS = frozenset(
    {SYSTEM_KEY, INPUT_MESSAGES_KEY, OUTPUT_MESSAGES_KEY, OLD_PROMPT_KEY, OLD_COMPLETION_KEY}
    | set(INPUT_TEXT_KEYS)
    | set(OUTPUT_TEXT_KEYS)
)


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
        out.input_tokens = first_int(attrs, INPUT_TOKEN_KEYS, out)
    if out.output_tokens is None:
        out.output_tokens = first_int(attrs, OUTPUT_TOKEN_KEYS, out)
    if not DETAIL_TOKENS.keys.isdisjoint(attrs):
        fill_tokens(out, attrs, DETAIL_TOKENS)
    if out.cost_usd is None and COST_KEYS[0] in attrs:
        out.cost_usd = first_float(attrs, COST_KEYS, out)
    if out.session_id is None:
        out.session_id = first_str(attrs, SESSION_KEYS)
    if PROMPT_NAME_KEY in attrs and isinstance(attrs[PROMPT_NAME_KEY], str):
        out.metadata.setdefault("prompt_name", attrs[PROMPT_NAME_KEY])

    if (out.input is None or out.output is None) and not CONTENT_KEYS.isdisjoint(attrs):
        _content(attrs, out)


def _content(attrs: dict[str, Any], out: Resolved) -> None:
    if out.input is None:
        messages = system_messages(attrs.get(SYSTEM_KEY), out)
        messages += message_list(attrs.get(INPUT_MESSAGES_KEY), INPUT_MESSAGES_KEY, out)
        if messages:
            out.set_input(render_text(messages), messages)
        elif not copy_first(attrs, INPUT_TEXT_KEYS, out, output=False):
            _old_text(attrs, OLD_PROMPT_KEY, out, output=False)
    if out.output is None:
        messages = message_list(attrs.get(OUTPUT_MESSAGES_KEY), OUTPUT_MESSAGES_KEY, out)
        if messages:
            out.set_output(render_text(messages), messages)
        elif not copy_first(attrs, OUTPUT_TEXT_KEYS, out, output=True):
            _old_text(attrs, OLD_COMPLETION_KEY, out, output=True)


def _old_text(attrs: dict[str, Any], key: str, out: Resolved, *, output: bool) -> None:
    value = attrs.get(key)
    if value is None or value == "":
        return
    messages = messages_in(value)
    if messages:
        if output:
            out.set_output(render_text(messages), messages)
        else:
            out.set_input(render_text(messages), messages)
    elif output:
        out.copy_output(attrs, key)
    else:
        out.copy_input(attrs, key)
