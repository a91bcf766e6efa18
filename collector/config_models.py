"""Shared parts of the config files' pydantic models, and their errors as one line.

The config files (redaction, online evaluation, alert webhooks) are parsed by pydantic
models built on ``ConfigModel`` (no unknown keys, no type coercion). ``validated`` turns a
``ValidationError`` into the module's own error, whose message is the first problem found,
naming the entry, without pydantic's own wording or links::

    evaluators[2].select: must be a table/object, got 3
    projects.support-bot: unknown key 'knds'; allowed: enabled, kinds, patterns
    settings.batch_size: must be a positive number, got 0

An unknown key is reported before any other problem: it is usually a misspelt key, which
explains the rest (a required key "missing", say).
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

M = TypeVar("M", bound=BaseModel)
Location = Sequence[int | str]
_SHOWN_CHARS = 60
_TYPES = {
    "bool_type": "true or false",
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "list_type": "a list",
    "dict_type": "a table/object",
    "model_type": "a table/object",
    "model_attributes_type": "a table/object",
}


class ConfigModel(BaseModel):
    """A table of a config file: unknown keys are refused, and values are not coerced (an
    integer is a number, but ``"1"`` is not, nor is ``true``)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def whole_number(value: Any) -> Any:
    """``20.0`` as ``20``: a count written as a whole float is still a count."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def absent_if_empty(value: Any) -> Any:
    """None for an empty or false value: the files have long read ``params = {}``,
    ``evaluators = []`` or ``name = ""`` (and ``false``, ``0``) as the key left out."""
    return value if value else None


Count = Annotated[int, BeforeValidator(whole_number), Field(gt=0)]
"""A positive whole number (``20`` or ``20.0``; not ``true``, ``"20"`` nor ``2.5``)."""

EmptyIsAbsent = BeforeValidator(absent_if_empty)
"""Mark an optional field (``Annotated[X | None, EmptyIsAbsent]``) whose empty value means
"not given"."""


def validated(model: type[M], raw: Any, error: type[Exception], *, where: str = "") -> M:
    """``raw`` (parsed TOML/JSON) as ``model``, else ``error`` with the one-line message;
    ``where`` names the entry ``raw`` is (empty for a whole file)."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise error(config_error_message(exc, model, where=where)) from None


def config_error_message(error: ValidationError, root: Any, *, where: str = "") -> str:
    """The first problem of ``error`` (from validating data against ``root``, a model class
    or a type), as ``path: problem``; ``where`` names the place the data came from."""
    errors = error.errors(include_url=False)
    if not errors:
        return f"{where or 'the config'}: is not valid"
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(first["loc"])
    if first["type"] == "extra_forbidden":
        parent = _type_at(root, loc[:-1])
        problem = f"unknown key {loc[-1]!r}"
        if isinstance(parent, type) and issubclass(parent, BaseModel):
            names = [info.alias or name for name, info in parent.model_fields.items()]
            problem += f"; allowed: {', '.join(names)}"
        return _joined(entry_path(loc[:-1], where), problem)
    return _joined(entry_path(loc, where), _problem(first, _field_at(root, loc)))


def entry_path(loc: Location, where: str = "") -> str:
    """``evaluators[2].select`` from ``("evaluators", 2, "select")``, after ``where``."""
    path = where
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _joined(path: str, problem: str) -> str:
    return f"{path}: {problem}" if path else problem


def _problem(error: Any, field: FieldInfo | None) -> str:
    kind = str(error["type"])
    ctx = error.get("ctx") or {}
    got = f", got {_shown(error.get('input'))}"
    if kind == "missing":
        return "is required"
    if kind in _TYPES:
        return f"must be {_TYPES[kind]}{got}"
    if kind == "literal_error":
        return f"must be {ctx.get('expected', 'one of the documented values')}{got}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return _bounds(ctx, field) + got
    if kind in ("too_short", "string_too_short"):
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"must have at least {least} items"
    if kind == "string_too_long":
        return f"is longer than {ctx.get('max_length')} characters"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    return str(error.get("msg", "is not valid"))


def _bounds(ctx: dict[str, Any], field: FieldInfo | None) -> str:
    """``must be between 0 and 1``, ``must be a positive number``, ...: the field's declared
    bounds where known (both of them), else the one broken."""
    found = dict(ctx)
    for rule in field.metadata if field is not None else ():
        for kind, name in ((Gt, "gt"), (Ge, "ge"), (Lt, "lt"), (Le, "le")):
            if isinstance(rule, kind):
                found[name] = getattr(rule, name)
    if "ge" in found and "le" in found:
        return f"must be between {found['ge']} and {found['le']}"
    if found.get("gt") == 0 and "lt" not in found and "le" not in found:
        return "must be a positive number"
    words = {"gt": "greater than", "ge": "at least", "lt": "less than", "le": "at most"}
    return "must be " + " and ".join(f"{words[n]} {found[n]}" for n in words if n in found)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def _field_at(root: Any, loc: Location) -> FieldInfo | None:
    """The model field at ``loc``, when ``loc`` ends at one."""
    if not loc or not isinstance(loc[-1], str):
        return None
    parent = _type_at(root, loc[:-1])
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        return parent.model_fields.get(loc[-1])
    return None


def _type_at(root: Any, loc: Location) -> Any:
    """The declared type at ``loc`` under ``root``: a model's field, a list's item or a
    dict's value at each step (None where the path leaves the declared types)."""
    current = _unwrapped(root)
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return None
            current = info.annotation
        else:
            origin, args = get_origin(current), get_args(current)
            if origin in (list, tuple) and args and isinstance(part, int):
                current = args[0]
            elif origin is dict and len(args) == 2:
                current = args[1]
            else:
                return None
        current = _unwrapped(current)
    return current


def _unwrapped(kind: Any) -> Any:
    """``kind`` without ``Annotated`` and without ``| None``."""
    while True:
        origin = get_origin(kind)
        if origin is Annotated:
            kind = get_args(kind)[0]
        elif origin in (Union, types.UnionType):
            others = [arg for arg in get_args(kind) if arg is not type(None)]
            if len(others) != 1:
                return kind
            kind = others[0]
        else:
            return kind
