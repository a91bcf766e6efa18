"""Reading type annotations by shape, for the checks ``@evaluator`` makes at declaration.

Annotations are compared by the names they mention (``Score``, ``SpanView | None``,
``list[Score]``), which works both for resolved types and for string annotations that
cannot be resolved (``from __future__ import annotations`` in a function with local names).
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any

EMPTY = inspect.Parameter.empty


def type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The function's annotations, resolved where possible, else left as strings."""
    raw = dict(getattr(fn, "__annotations__", {}) or {})
    try:
        resolved = typing.get_type_hints(fn)
    except Exception:  # unresolvable names: fall back to the raw (string) annotations
        return raw
    return {**raw, **resolved}


def shape(annotation: Any) -> frozenset[str]:
    """The annotation as a set of member names: ``Score | None`` → {"Score", "None"}."""
    if annotation is EMPTY:
        return frozenset()
    if annotation is None or annotation is type(None):
        return frozenset({"None"})
    if isinstance(annotation, str):
        return _shape_of_text(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members: set[str] = set()
        for arg in typing.get_args(annotation):
            members |= shape(arg)
        return frozenset(members)
    if origin is list:
        args = typing.get_args(annotation)
        inner = "|".join(sorted(shape(args[0]))) if args else "Any"
        return frozenset({f"list[{inner}]"})
    if origin is not None:
        return frozenset({getattr(origin, "__name__", str(origin))})
    if isinstance(annotation, type):
        return frozenset({annotation.__name__})
    return frozenset({str(annotation)})


def _shape_of_text(text: str) -> frozenset[str]:
    text = text.replace(" ", "")
    optional = re.fullmatch(r"(?:typing\.)?Optional\[(.*)\]", text)
    if optional:
        return _shape_of_text(optional.group(1)) | {"None"}
    members: set[str] = set()
    for member in _split_top_level(text, "|"):
        generic = re.fullmatch(r"(?:[\w.]+\.)?(\w+)\[(.*)\]", member)
        if generic and generic.group(1) in ("list", "List"):
            inner = "|".join(sorted(_shape_of_text(generic.group(2))))
            members.add(f"list[{inner}]")
        elif generic:
            members.add(generic.group(1))
        else:
            members.add(member.rsplit(".", 1)[-1])
    return frozenset(members)


def _split_top_level(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == separator and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p]


def describe(annotation: Any) -> str:
    """The annotation as people write it, for error messages."""
    if annotation is EMPTY:
        return "(none)"
    names = sorted(shape(annotation), key=lambda n: (n == "None", n))
    return " | ".join(names) if names else repr(annotation)
