"""Langfuse attributes (``langfuse.trace.*``, ``langfuse.observation.*``), as the Langfuse
SDKs (v3 and later, built on OpenTelemetry) send them.

Observation types map to kinds (``generation`` → llm, ``span`` → chain, ``event`` → other,
the rest by name); input and output are JSON text, read as messages when they hold them;
``usage_details`` and ``cost_details`` are JSON objects in Langfuse's own keys, OpenAI's or
Anthropic's; metadata arrives flattened (``langfuse.trace.metadata.<key>`` with
JSON-encoded values); prompt name and version go to metadata.
"""

from __future__ import annotations

from typing import Any

from .fields import (
    Resolved,
    first_str,
    json_scalar,
    merge_metadata,
    read_float,
    read_int,
    string_list,
    take_value,
)
from .values import loads, parse_json_text

OBSERVATION_KINDS = {
    "generation": "llm",
    "embedding": "embedding",
    "agent": "agent",
    "tool": "tool",
    "chain": "chain",
    "retriever": "retriever",
    "evaluator": "evaluator",
    "guardrail": "guardrail",
    "span": "chain",
    "event": "other",
}
# A span is read as Langfuse's when it carries one of these (dict lookups, no key scan).
MARKERS = (
    "langfuse.observation.type",
    "langfuse.observation.input",
    "langfuse.observation.output",
    "langfuse.observation.model.name",
    "langfuse.observation.usage_details",
    "langfuse.trace.name",
    "langfuse.trace.input",
    "langfuse.session.id",
    "langfuse.user.id",
)
TYPE_KEY = "langfuse.observation.type"
INPUT_KEYS = ("langfuse.observation.input", "langfuse.trace.input")
OUTPUT_KEYS = ("langfuse.observation.output", "langfuse.trace.output")
SESSION_KEYS = ("langfuse.session.id", "session.id")
USER_KEYS = ("langfuse.user.id", "user.id")
TAG_KEYS = ("langfuse.trace.tags", "langfuse.tags")
METADATA_PREFIXES = ("langfuse.trace.metadata.", "langfuse.observation.metadata.")
# usage_details keys, per meaning. Langfuse's own keys bill each bucket separately ("input"
# excludes cached tokens); OpenAI's prompt_tokens and Anthropic's input_tokens do not.
USAGE_INPUT = ("input", "prompt_tokens", "input_tokens")
USAGE_OUTPUT = ("output", "completion_tokens", "output_tokens")
USAGE_TOTAL = ("total", "total_tokens")
USAGE_CACHE_READ = ("input_cached_tokens", "input_cache_read", "cache_read_input_tokens")
USAGE_CACHE_WRITE = ("input_cache_creation", "input_cache_write", "cache_creation_input_tokens")
USAGE_REASONING = ("output_reasoning_tokens", "output_reasoning")


def resolve(attrs: dict[str, Any], out: Resolved) -> None:
    """Fill the fields still unset in ``out`` from Langfuse attributes."""
    if attrs.keys().isdisjoint(MARKERS):
        return
    if out.kind is None:
        kind = attrs.get(TYPE_KEY)
        if isinstance(kind, str):
            out.kind = OBSERVATION_KINDS.get(kind.lower())
    if out.model is None:
        out.model = first_str(attrs, ("langfuse.observation.model.name",))
    if out.session_id is None:
        out.session_id = first_str(attrs, SESSION_KEYS)
    if out.user_id is None:
        out.user_id = first_str(attrs, USER_KEYS)
    if not out.tags:
        for key in TAG_KEYS:
            if key in attrs:
                out.tags = string_list(attrs[key])
                break
    if "langfuse.observation.usage_details" in attrs:
        _usage(attrs["langfuse.observation.usage_details"], out)
    if out.cost_usd is None and "langfuse.observation.cost_details" in attrs:
        _cost(attrs["langfuse.observation.cost_details"], out)
    _metadata(attrs, out)

    if out.input is None:
        any(take_value(attrs, key, out, output=False) for key in INPUT_KEYS)
    if out.output is None:
        any(take_value(attrs, key, out, output=True) for key in OUTPUT_KEYS)


def _usage(raw: Any, out: Resolved) -> None:
    usage = parse_json_text(raw)
    if not isinstance(usage, dict):
        out.warn("langfuse.observation.usage_details: not a JSON object")
        return
    key = "langfuse.observation.usage_details"

    def count(names: tuple[str, ...]) -> int | None:
        """The first of ``names`` in the usage object, read as a token count."""
        for name in names:
            if usage.get(name) is not None:
                return read_int(f"{key}.{name}", usage[name], out)
        return None

    cache_read = count(USAGE_CACHE_READ)
    cache_write = count(USAGE_CACHE_WRITE)
    reasoning = count(USAGE_REASONING)
    details = usage.get("prompt_tokens_details")
    if cache_read is None and isinstance(details, dict) and details.get("cached_tokens"):
        cache_read = read_int(f"{key}.prompt_tokens_details", details["cached_tokens"], out)
    details = usage.get("completion_tokens_details")
    if reasoning is None and isinstance(details, dict) and details.get("reasoning_tokens"):
        reasoning = read_int(f"{key}.completion_tokens_details", details["reasoning_tokens"], out)
    input_tokens = count(USAGE_INPUT)
    output_tokens = count(USAGE_OUTPUT)
    if input_tokens is not None and "prompt_tokens" not in usage:
        # Langfuse and Anthropic keys count cached input separately: add it back, so
        # input_tokens means every input token, as in the other conventions.
        input_tokens += (cache_read or 0) + (cache_write or 0)
    if output_tokens is not None and "output" in usage and "completion_tokens" not in usage:
        output_tokens += reasoning or 0
    if out.input_tokens is None:
        out.input_tokens = input_tokens
    if out.output_tokens is None:
        out.output_tokens = output_tokens
    if out.total_tokens is None:
        out.total_tokens = count(USAGE_TOTAL)
    if out.cache_read_tokens is None:
        out.cache_read_tokens = cache_read
    if out.cache_write_tokens is None:
        out.cache_write_tokens = cache_write
    if out.reasoning_tokens is None:
        out.reasoning_tokens = reasoning


def _cost(raw: Any, out: Resolved) -> None:
    cost = parse_json_text(raw)
    key = "langfuse.observation.cost_details"
    if not isinstance(cost, dict):
        out.warn(f"{key}: not a JSON object")
        return
    if cost.get("total") is not None:
        out.cost_usd = read_float(f"{key}.total", cost["total"], out)
        return
    parts = [read_float(f"{key}.{name}", value, out) for name, value in cost.items()]
    if parts and None not in parts:
        out.cost_usd = sum(p for p in parts if p is not None)


def _metadata(attrs: dict[str, Any], out: Resolved) -> None:
    found: dict[str, Any] = {}
    for whole in ("langfuse.trace.metadata", "langfuse.observation.metadata"):
        if whole in attrs:  # metadata that was not a dict, or sent whole
            value = json_scalar(attrs[whole])
            if isinstance(value, dict):
                found.update(value)
            else:
                found[whole.rsplit(".", 1)[0].replace("langfuse.", "") + "_metadata"] = value
    for key, value in attrs.items():  # a Langfuse span (a marker matched): scan its keys
        if key.startswith(METADATA_PREFIXES):  # v5 SDKs JSON-encode every value
            found[key.split(".metadata.", 1)[1]] = json_value(value)
    for key, name in (
        ("langfuse.observation.prompt.name", "prompt_name"),
        ("langfuse.observation.prompt.version", "prompt_version"),
        ("langfuse.observation.model.parameters", "model_parameters"),
        ("langfuse.environment", "environment"),
        ("langfuse.release", "release"),
    ):
        if key in attrs:
            found[name] = json_scalar(attrs[key])
    if found:
        merge_metadata(out, found)


def json_value(value: Any) -> Any:
    """``value`` decoded when it is JSON text (``"2"`` → 2), else as it is."""
    if isinstance(value, str):
        try:
            return loads(value)
        except ValueError:
            return value
    return value
