"""The normalized span fields a semantic convention can fill, and helpers to read attributes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .messages import Message, messages_in, read_messages, render_text
from .serialized import framework_messages
from .values import loads

INT64_MAX = 2**63 - 1
MAX_WARNINGS = 20


@dataclass(slots=True)
class Resolved:
    """The normalized fields of one span, filled by the conventions in priority order.

    Each convention fills only fields still ``None`` (first convention wins) and skips the
    work for fields already resolved. A convention that sets ``input`` from messages sets
    ``input_messages`` with it (the same for output); ``input_key``/``output_key`` name the
    attribute whose string was copied verbatim into ``input``/``output``, if one was.
    """

    kind: str | None = None
    model: str | None = None
    provider: str | None = None
    input: str | None = None
    output: str | None = None
    input_messages: list[Message] | None = None
    output_messages: list[Message] | None = None
    input_key: str | None = None
    output_key: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost_usd: float | None = None
    session_id: str | None = None
    user_id: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        """Note a problem with the span's attributes (at most MAX_WARNINGS are kept)."""
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message[:300])

    def set_input(self, text: str, messages: list[Message] | None = None) -> None:
        """Set ``input`` (and the messages it was rendered from)."""
        self.input = text
        self.input_messages = messages or None

    def set_output(self, text: str, messages: list[Message] | None = None) -> None:
        """Set ``output`` (and the messages it was rendered from)."""
        self.output = text
        self.output_messages = messages or None

    def copy_input(self, attrs: dict[str, Any], key: str) -> bool:
        """Use the attribute ``key`` as the input text; True when it was present."""
        value = attrs.get(key)
        if value is None or value == "":
            return False
        if isinstance(value, str):
            self.input, self.input_key = value, key
        else:
            self.input = _text(value)
        return True

    def copy_output(self, attrs: dict[str, Any], key: str) -> bool:
        """Use the attribute ``key`` as the output text; True when it was present."""
        value = attrs.get(key)
        if value is None or value == "":
            return False
        if isinstance(value, str):
            self.output, self.output_key = value, key
        else:
            self.output = _text(value)
        return True


def _text(value: Any) -> str:
    from .values import to_json

    return value if isinstance(value, str) else to_json(value)


def first_str(attrs: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """Return the first non-empty value among ``keys`` as text."""
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return value if isinstance(value, str) else str(value)
    return None


def read_int(key: str, value: Any, out: Resolved) -> int | None:
    """``value`` as a non-negative integer (a numeric string counts); None and a warning
    naming ``key`` when it is not one."""
    try:
        number = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError, OverflowError):  # OverflowError: float infinity
        number = None
    if number is None and isinstance(value, str):
        try:  # "12.0"
            as_float = float(value)
            number = int(as_float) if as_float.is_integer() else None
        except (ValueError, OverflowError):
            number = None
    if number is None or not 0 <= number <= INT64_MAX:  # the column is a BIGINT
        out.warn(f"{key}: not a non-negative integer: {value!r:.80}")
        return None
    return number


def read_float(key: str, value: Any, out: Resolved) -> float | None:
    """``value`` as a non-negative finite number; None and a warning when it is not one."""
    try:
        number = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or number < 0 or not math.isfinite(number):
        out.warn(f"{key}: not a non-negative number: {value!r:.80}")
        return None
    return number


def first_int(attrs: dict[str, Any], keys: tuple[str, ...], out: Resolved) -> int | None:
    """Return the first of ``keys`` readable as a non-negative integer, noting unreadable ones."""
    for key in keys:
        value = attrs.get(key)
        if value is None:
            continue
        if type(value) is int and 0 <= value <= INT64_MAX:  # the common case, fast
            return value
        number = read_int(key, value, out)
        if number is not None:
            return number
    return None


def first_float(attrs: dict[str, Any], keys: tuple[str, ...], out: Resolved) -> float | None:
    """Return the first of ``keys`` readable as a non-negative float, noting unreadable ones."""
    for key in keys:
        value = attrs.get(key)
        if value is None:
            continue
        number = read_float(key, value, out)
        if number is not None:
            return number
    return None


def string_list(value: Any) -> list[str]:
    """Return ``value`` as a list of strings (a JSON array string is parsed)."""
    if value is None:
        return []
    if isinstance(value, str):
        from .values import parse_json_text

        parsed = parse_json_text(value)
        if isinstance(parsed, list):
            return [str(item) for item in parsed]
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)]


TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)


@dataclass(frozen=True, slots=True)
class TokenKeys:
    """The attribute keys of each token count one convention reports, in priority order:
    ``field_of`` maps each key to its field, ``rank`` orders keys by field, then priority."""

    field_of: dict[str, str]
    rank: dict[str, int]
    keys: frozenset[str]


def token_keys(**fields: tuple[str, ...]) -> TokenKeys:
    """``TokenKeys`` for ``fill_tokens``: ``token_keys(input_tokens=("a", "b"), ...)``."""
    unknown = set(fields) - set(TOKEN_FIELDS)
    if unknown:
        raise ValueError(f"not token fields: {sorted(unknown)}")
    ordered = [(key, name) for name, keys in fields.items() for key in keys]
    return TokenKeys(
        field_of=dict(ordered),
        rank={key: i for i, (key, _) in enumerate(ordered)},
        keys=frozenset(key for key, _ in ordered),
    )


def fill_tokens(out: Resolved, attrs: dict[str, Any], spec: TokenKeys) -> None:
    """Fill the token counts still unset from the first readable key of each field."""
    present = spec.keys.intersection(attrs)
    if not present:  # the usual case for all but one convention: one set operation
        return
    for key in sorted(present, key=spec.rank.__getitem__) if len(present) > 1 else present:
        name = spec.field_of[key]
        if getattr(out, name) is not None:
            continue
        value = attrs[key]
        if type(value) is int and 0 <= value <= INT64_MAX:  # the common case, fast
            setattr(out, name, value)
        else:
            setattr(out, name, read_int(key, value, out))


def copy_first(
    attrs: dict[str, Any], keys: tuple[str, ...], out: Resolved, *, output: bool
) -> bool:
    """Copy the first present attribute of ``keys`` as the input (or output) text."""
    copy = out.copy_output if output else out.copy_input
    return any(key in attrs and copy(attrs, key) for key in keys)


def merge_metadata(out: Resolved, values: dict[str, Any]) -> None:
    """Add ``values`` to the span's metadata; keys already set by an earlier convention win."""
    for key, value in values.items():
        out.metadata.setdefault(str(key), value)


def json_scalar(value: Any) -> Any:
    """A value some SDKs JSON-encode before setting it (MLflow, Langfuse metadata): ``'"x"'``
    becomes ``"x"``, ``"3"`` stays ``"3"``; anything that is not JSON is returned as is."""
    if isinstance(value, str) and (value[:1] in ('"', "{", "[") or value in ("true", "false")):
        try:
            return loads(value)
        except ValueError:
            return value
    return value


def take_value(
    attrs: dict[str, Any], key: str, out: Resolved, *, output: bool, find_messages: bool = True
) -> bool:
    """Use the attribute ``key`` as the span's input (or output): its messages when it holds
    a chat request, completion or message list (with ``find_messages=False``, only when it
    holds a framework serialization); the string itself when it is a JSON-encoded
    string; else its text verbatim. True when the attribute was there."""
    value = attrs.get(key)
    if value is None or value == "":
        return False
    decoded = json_scalar(value)
    if find_messages:
        messages = messages_in(decoded)
    else:  # framework serializations only (LangChain messages, Responses API items)
        plain = framework_messages(decoded)
        messages = read_messages(plain) if plain else None
    if messages:
        setter = out.set_output if output else out.set_input
        setter(render_text(messages), messages)
    elif isinstance(decoded, str) and decoded != value:  # '"text"' → 'text'
        (out.set_output if output else out.set_input)(decoded)
    elif output:
        out.copy_output(attrs, key)
    else:
        out.copy_input(attrs, key)
    return True


def take_serialized(attrs: dict[str, Any], key: str, out: Resolved, *, output: bool) -> bool:
    """Use the attribute ``key`` as the input (or output) text verbatim, unless it holds a
    framework serialization (LangChain messages, Responses API items, LlamaIndex return
    values): then its messages, their content as the text. True when the attribute was
    there."""
    value = attrs.get(key)
    if value is None or value == "":
        return False
    if isinstance(value, str) and value[:1] in ("{", "[") and _may_be_serialized(value):
        parsed = json_scalar(value)
        plain = framework_messages(parsed)
        messages = read_messages(plain) if plain else None
        if messages:
            (out.set_output if output else out.set_input)(render_text(messages), messages)
            return True
    return out.copy_output(attrs, key) if output else out.copy_input(attrs, key)


# Every serialization framework_messages reads names one of these keys (LangChain and
# Responses items a "type"; LlamaIndex's ToolOutput a "tool_name", its responses their
# "source_nodes"): other JSON is not parsed.
SERIALIZED_MARKERS = ('"type"', '"tool_name"', '"source_nodes"')


def _may_be_serialized(text: str) -> bool:
    return any(marker in text for marker in SERIALIZED_MARKERS)
