"""Decoding OTLP ``AnyValue``/``KeyValue`` protobuf messages into plain Python values."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import orjson
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue


def any_value(value: AnyValue) -> Any:
    """Return the Python value held by an OTLP ``AnyValue`` (None when it holds nothing)."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return value.double_value
    if which == "bool_value":
        return value.bool_value
    if which == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return value.bytes_value.hex()
    return None


def key_values(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    """Return OTLP key-value pairs as a dict; a repeated key keeps its last value."""
    out: dict[str, Any] = {}
    for kv in pairs:
        value = kv.value
        # Strings are most attributes: read them without a call per attribute.
        if value.WhichOneof("value") == "string_value":
            out[kv.key] = value.string_value
        else:
            out[kv.key] = any_value(value)
    return out


def to_json(value: Any) -> str:
    """Serialize a decoded attribute structure to compact JSON text (NaN becomes null)."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # nested past orjson's 254 levels, or an integer beyond 64 bits
        try:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
        except (ValueError, RecursionError):
            return "null"


_LONG_DIGITS = re.compile(r"\d{19}")


def loads(text: str) -> Any:
    """Parse JSON text; ValueError when it is not JSON.

    orjson first (several times faster); the standard library for what orjson refuses but
    JSON in the wild holds (NaN and Infinity literals), and for text with a run of 19 or
    more digits, which may be an integer beyond 64 bits that orjson would turn into a float.
    """
    if _LONG_DIGITS.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def parse_json_text(value: Any) -> Any:
    """Parse ``value`` as JSON when it is a string holding JSON, else return it unchanged."""
    if isinstance(value, str):
        stripped = value.lstrip()
        if stripped[:1] in ("{", "["):
            try:
                return loads(value)
            except ValueError:
                return value
    return value


def holds_lone_surrogate(document: Any) -> bool:
    """True when a string (or key) of parsed JSON holds a lone UTF-16 surrogate, which no
    UTF-8 store can hold (JSON's ``\\ud800`` escapes decode to one)."""
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not _encodes(item):
                return True
        elif isinstance(item, dict):
            for key, value in item.items():
                if not _encodes(key):
                    return True
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
