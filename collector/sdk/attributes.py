"""The span attribute keys the SDK writes, and turning Python values into attribute text.

The SDK writes OpenInference keys for kind, input, output, session, user, tags and metadata,
and OTel GenAI keys for model, provider and usage, so any backend that reads either
convention understands loopwise spans.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
from collections.abc import Callable, Collection, Mapping
from typing import Any

from ..semconv.kinds import SPAN_KINDS

KIND = "openinference.span.kind"
INPUT = "input.value"
INPUT_MIME = "input.mime_type"
OUTPUT = "output.value"
OUTPUT_MIME = "output.mime_type"
MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
PROVIDER = "gen_ai.provider.name"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
TOTAL_TOKENS = "llm.token_count.total"
COST = "llm.cost.total"
SESSION = "session.id"
USER = "user.id"
TAGS = "tag.tags"
METADATA = "metadata"
PROJECT_RESOURCE = "loopwise.project"

DEFAULT_MAX_TEXT = 64 * 1024

# json.dumps with these options would build a new encoder on every call.
_JSON = json.JSONEncoder(ensure_ascii=False, default=repr)
_SCALARS = frozenset({str, int, float, bool})


def check_kind(kind: str) -> str:
    """The kind, lower-cased, if it is one of the normalized span kinds."""
    lowered = kind.lower()
    if lowered not in SPAN_KINDS:
        raise ValueError(f"unknown span kind {kind!r}; expected one of {', '.join(SPAN_KINDS)}")
    return lowered


def to_text(value: Any, max_chars: int = DEFAULT_MAX_TEXT) -> tuple[str, str]:
    """``(text, mime_type)`` for an input or output value; strings pass through as text."""
    if isinstance(value, str):
        text, mime = value, "text/plain"
    else:
        text = _JSON.encode(_jsonable(value))
        mime = "application/json"
    if len(text) > max_chars:
        text = text[:max_chars] + f"…[truncated {len(text) - max_chars} chars]"
    return text, mime


def _jsonable(value: Any) -> Any:
    if value is None or type(value) in _SCALARS:
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    dump = getattr(value, "model_dump", None)  # pydantic models
    if callable(dump):
        try:
            return dump(mode="json")
        except Exception:
            return repr(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


@functools.lru_cache(maxsize=4096)
def _signature(func: Callable[..., Any]) -> inspect.Signature | None:
    """A function's signature, read once: building it costs more than the rest of a call."""
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


def _signature_of(func: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return _signature(func)
    except TypeError:  # an unhashable callable: read its signature each time
        return _signature.__wrapped__(func)


def bound_arguments(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    ignore: Collection[str] = (),
) -> Any:
    """The call's JSON-serialisable arguments by parameter name, without ``self``/``cls`` and
    the names in ``ignore``; a function's only argument is returned as itself.

    An argument that is not data (a client, a random generator, a connection: anything
    whose only text form is its ``repr``) is left out: an input is what a dataset example
    and an evaluator read, and a repr is neither reproducible nor meaningful there.
    """
    return _recorded(_bind(_signature_of(func), args, kwargs), ignore)


def argument_reader(
    func: Callable[..., Any], ignore: Collection[str] = ()
) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
    """``bound_arguments`` for calls of one function, prepared once. A call that passes only
    positional arguments, none of them into ``*args``, is mapped to parameter names directly
    (what binding gives, at a fraction of its cost); any other call is bound."""
    try:
        signature = _signature_of(func)
    except Exception:
        signature = None
    positional: list[str] = []
    for parameter in signature.parameters.values() if signature is not None else ():
        if parameter.kind not in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            break
        positional.append(parameter.name)
    names = tuple(positional)
    ignored = frozenset(ignore)

    def read(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not kwargs and len(args) <= len(names):
            return _recorded(dict(zip(names, args, strict=False)), ignored)
        return _recorded(_bind(signature, args, kwargs), ignored)

    return read


def _bind(
    signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    try:
        if signature is None:
            raise TypeError("no signature")
        bound = signature.bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return {f"arg{n}": value for n, value in enumerate(args)} | kwargs
    return dict(bound.arguments)


def _recorded(arguments: dict[str, Any], ignore: Collection[str]) -> Any:
    for name in ("self", "cls"):
        arguments.pop(name, None)
    alone = len(arguments) == 1
    recorded = {k: v for k, v in arguments.items() if k not in ignore and is_data(v)}
    if alone and recorded:
        return next(iter(recorded.values()))
    return recorded


def is_data(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` has a JSON form of its own: JSON scalars, lists, tuples, sets and
    mappings of them, dataclass instances and pydantic models."""
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if depth > 20:
        return False
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return True
    if callable(getattr(value, "model_dump", None)) and not isinstance(value, type):
        return True
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and is_data(v, depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return all(is_data(v, depth + 1) for v in value)
    return False
