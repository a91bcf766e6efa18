"""OpenInference semantic conventions (Arize Phoenix and its instrumentations).

Every span kind; flattened ``llm.input_messages.N.message.*`` / ``llm.output_messages.N.*``
rebuilt from whatever indices exist (contents, tool calls, tool call ids); ``llm.prompts``
(a string array or flattened) for completions; ``input.value``/``output.value`` verbatim, or
as messages when they hold a framework serialization (LangChain messages, Responses API
items: serialized.py); retrieval, reranker and embedding documents as
text when ``input.value``/``output.value`` are absent; ``llm.invocation_parameters`` and
``metadata`` into metadata; ``tag.tags``, ``session.id``, ``user.id``; ``llm.cost.*``; cache
and reasoning token details.
"""

from __future__ import annotations

from typing import Any

from .fields import (
    Resolved,
    fill_tokens,
    first_float,
    first_str,
    merge_metadata,
    string_list,
    take_serialized,
    token_keys,
)
from .messages import Message, make_message, render_text, text_of, tool_call, unflatten
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
    "PROMPT": "chain",
    "UNKNOWN": "other",
}

MODEL_KEYS = (
    "llm.model_name",
    "llm.response.model_name",
    "llm.request.model_name",
    "embedding.model_name",
    "reranker.model_name",
)
PROVIDER_KEYS = ("llm.provider", "llm.system")
INPUT_TOKEN_KEYS = ("llm.token_count.prompt",)
OUTPUT_TOKEN_KEYS = ("llm.token_count.completion",)
TOTAL_TOKEN_KEYS = ("llm.token_count.total",)
CACHE_READ_KEYS = ("llm.token_count.prompt_details.cache_read",)
CACHE_WRITE_KEYS = ("llm.token_count.prompt_details.cache_write",)
REASONING_KEYS = ("llm.token_count.completion_details.reasoning",)
TOKENS = token_keys(
    input_tokens=INPUT_TOKEN_KEYS,
    output_tokens=OUTPUT_TOKEN_KEYS,
    total_tokens=TOTAL_TOKEN_KEYS,
    cache_read_tokens=CACHE_READ_KEYS,
    cache_write_tokens=CACHE_WRITE_KEYS,
    reasoning_tokens=REASONING_KEYS,
)
COST_KEYS = ("llm.cost.total",)
PART_COST_KEYS = ("llm.cost.prompt", "llm.cost.completion")
COST_ANY = frozenset(COST_KEYS + PART_COST_KEYS)
PROMPT_KEYS = (("prompt.id", "prompt_name"), ("llm.prompt_template.version", "prompt_version"))
EXTRA_KEYS = frozenset(
    {"tag.tags", "metadata", "llm.invocation_parameters"} | {key for key, _ in PROMPT_KEYS}
)
# Flattened messages start at index 0 with a role or content: (prefix, first keys).
INPUT_FIRST = (
    "llm.input_messages",
    ("llm.input_messages.0.message.role", "llm.input_messages.0.message.content"),
)
OUTPUT_FIRST = (
    "llm.output_messages",
    ("llm.output_messages.0.message.role", "llm.output_messages.0.message.content"),
)
DOCUMENT_SEPARATOR = "\n\n"


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
    fill_tokens(out, attrs, TOKENS)
    if out.cost_usd is None and not COST_ANY.isdisjoint(attrs):
        _cost(attrs, out)
    if out.session_id is None:
        out.session_id = first_str(attrs, ("session.id",))
    if out.user_id is None:
        out.user_id = first_str(attrs, ("user.id",))
    if not EXTRA_KEYS.isdisjoint(attrs):
        _extras(attrs, out)

    if out.input is None or out.output is None:
        _content(attrs, out)


def _content(attrs: dict[str, Any], out: Resolved) -> None:
    flat = _Flattened(attrs)
    if out.input is None:
        messages = _messages(attrs, INPUT_FIRST, flat)
        if messages:
            out.set_input(render_text(messages), messages)
        elif prompts := _prompts(attrs, flat):
            out.set_input(prompts)
        elif not take_serialized(attrs, "input.value", out, output=False):
            text = _listed_text(attrs, "embedding.embeddings", "embedding.text", flat)
            text = text or first_str(attrs, ("reranker.query",))
            if text:
                out.set_input(text)
    if out.output is None:
        messages = _messages(attrs, OUTPUT_FIRST, flat)
        if messages:
            out.set_output(render_text(messages), messages)
        elif not take_serialized(attrs, "output.value", out, output=True):
            text = _listed_text(attrs, "retrieval.documents", "document.content", flat)
            text = text or _listed_text(
                attrs, "reranker.output_documents", "document.content", flat
            )
            if text:
                out.set_output(text)


def _cost(attrs: dict[str, Any], out: Resolved) -> None:
    out.cost_usd = first_float(attrs, COST_KEYS, out)
    if out.cost_usd is None and all(key in attrs for key in PART_COST_KEYS):
        parts = [first_float(attrs, (key,), out) for key in PART_COST_KEYS]
        if None not in parts:
            out.cost_usd = sum(p for p in parts if p is not None)


def _extras(attrs: dict[str, Any], out: Resolved) -> None:
    """Tags, metadata, invocation parameters and prompt ids (rarer keys, checked together)."""
    if not out.tags and "tag.tags" in attrs:
        out.tags = string_list(attrs["tag.tags"])
    if "metadata" in attrs:
        _metadata(attrs["metadata"], out)
    if "llm.invocation_parameters" in attrs:
        _invocation_parameters(attrs["llm.invocation_parameters"], out)
    for key, name in PROMPT_KEYS:
        if key in attrs:
            out.metadata.setdefault(name, attrs[key])


def _metadata(raw: Any, out: Resolved) -> None:
    metadata = parse_json_text(raw)
    if isinstance(metadata, dict):
        merge_metadata(out, metadata)
    else:
        out.warn("metadata: not a JSON object")


def _invocation_parameters(raw: Any, out: Resolved) -> None:
    parameters = parse_json_text(raw)
    if not isinstance(parameters, dict):
        out.warn("llm.invocation_parameters: not a JSON object")
        return
    out.metadata.setdefault("invocation_parameters", parameters)
    model = parameters.get("model") or parameters.get("model_name")
    if out.model is None and isinstance(model, str) and model:
        out.model = model


def _prompts(attrs: dict[str, Any], flat: _Flattened) -> str | None:
    """``llm.prompts`` (completions): an array of strings (LlamaIndex) or flattened
    ``llm.prompts.N.prompt.text``; None when the span has neither."""
    value = attrs.get("llm.prompts")
    if value is not None:
        texts = [text for text in string_list(value) if text]
        return DOCUMENT_SEPARATOR.join(texts) if texts else None
    return _listed_text(attrs, "llm.prompts", "prompt.text", flat)


def _listed_text(attrs: dict[str, Any], prefix: str, leaf: str, flat: _Flattened) -> str | None:
    """Text of flattened ``prefix.N.<leaf>`` items (documents, prompts), joined."""
    if f"{prefix}.0.{leaf}" not in attrs and prefix not in flat:
        return None
    items = unflatten(attrs, prefix)
    if not isinstance(items, list):
        return None
    head, _, tail = leaf.partition(".")
    texts = []
    for item in items:
        value = item.get(head) if isinstance(item, dict) else None
        value = value.get(tail) if isinstance(value, dict) else None
        if value is not None and value != "":
            texts.append(text_of(value))
    return DOCUMENT_SEPARATOR.join(texts) if texts else None


FLATTENED_PREFIXES = (
    "llm.input_messages",
    "llm.output_messages",
    "llm.prompts",
    "embedding.embeddings",
    "retrieval.documents",
    "reranker.output_documents",
)
_FLATTENED_HEADS = tuple(prefix + "." for prefix in FLATTENED_PREFIXES)


class _Flattened:
    """The FLATTENED_PREFIXES an OpenInference span carries at some index (``prefix.N...``),
    found on first use.

    Lists usually start at index 0, which the readers look up directly; some start later
    (the OpenAI Agents SDK's Responses spans begin at 1). Only then is the span scanned: one
    pass over the keys of a span that names an OpenInference kind; other spans never are.
    """

    __slots__ = ("_attrs", "_found")

    def __init__(self, attrs: dict[str, Any]) -> None:
        self._attrs = attrs
        self._found: frozenset[str] | None = None

    def __contains__(self, prefix: object) -> bool:
        if self._found is None:
            self._found = _flattened_prefixes(self._attrs)
        return prefix in self._found


def _flattened_prefixes(attrs: dict[str, Any]) -> frozenset[str]:
    if "openinference.span.kind" not in attrs:
        return frozenset()
    keys = [key for key in attrs if key.startswith(_FLATTENED_HEADS)]
    found = set()
    for prefix, head in zip(FLATTENED_PREFIXES, _FLATTENED_HEADS, strict=True):
        if any(key.startswith(head) and key[len(head) : len(head) + 1].isdigit() for key in keys):
            found.add(prefix)
    return frozenset(found)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _messages(
    attrs: dict[str, Any], first: tuple[str, tuple[str, str]], flat: _Flattened
) -> list[Message]:
    # Flattened messages usually start at index 0 with a role or content: two dict lookups
    # instead of a scan over every key. Some start later (the OpenAI Agents SDK's Responses
    # spans begin at 1): an OpenInference span is then scanned for the prefix.
    prefix, (role_key, content_key) = first
    if role_key not in attrs and content_key not in attrs and prefix not in flat:
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
        calls = (
            [
                tool_call(
                    call["tool_call"].get("id"), function.get("name"), function.get("arguments")
                )
                for call in body.get("tool_calls") or []
                if isinstance(call, dict) and isinstance(call.get("tool_call"), dict)
                for function in [_dict(call["tool_call"].get("function"))]
            ]
            if isinstance(body.get("tool_calls"), list)
            else []
        )
        if body.get("function_call_name"):  # legacy function calling
            calls.append(
                tool_call(
                    None, body["function_call_name"], body.get("function_call_arguments_json")
                )
            )
        text = text_of(content) if content is not None else ""
        messages.append(make_message(body.get("role"), text, calls, body.get("tool_call_id")))
    return messages
