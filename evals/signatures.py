"""The checks ``@evaluator`` makes at declaration: identity, parameter names, annotations,
factory options, and whether a factory's body returns anything at all."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable
from typing import Any, Literal

from .annotations import EMPTY, describe, shape

Target = Literal["span", "trace", "batch"]
BatchFormat = Literal["arrow", "pandas"]

TARGET_PARAMETERS: dict[str, Target] = {"span": "span", "trace": "trace", "spans": "batch"}
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$")
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9_.\-+]{1,50}$")
SCORE_RETURNS = (frozenset({"Score"}), frozenset({"Score", "None"}))
BATCH_RETURNS = (
    frozenset({"BatchScores"}),
    frozenset({"list[Score]"}),
    frozenset({"list[None|Score]"}),
)


class EvaluatorDeclarationError(TypeError):
    """``@evaluator`` was applied to something that cannot work; the message says why."""


def check_identity(label: str, name: str, version: Any, kind: Any) -> tuple[str, str, Any]:
    """The (name, version, kind) of a declaration, if each is well formed."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise EvaluatorDeclarationError(
            f"{label}: evaluator name {name!r} must be 1-100 letters, digits, '_', '-' or '.', "
            "starting with a letter or '_'"
        )
    if not isinstance(version, str) or not VERSION_PATTERN.match(version):
        raise EvaluatorDeclarationError(
            f"{label}: version must be a short string such as '1' or '2025-01-15', got {version!r}"
        )
    if kind not in ("code", "llm"):
        raise EvaluatorDeclarationError(f"{label}: kind must be 'code' or 'llm', got {kind!r}")
    return name, version, kind


def check_target_annotation(label: str, param: str, annotation: Any) -> BatchFormat | None:
    """Check the first parameter's annotation; for ``spans`` say which batch format."""
    expected = {"span": "SpanView", "trace": "TraceView"}
    if annotation is EMPTY:
        hint = expected.get(param, "pa.Table (or pd.DataFrame)")
        raise EvaluatorDeclarationError(
            f"{label}: parameter '{param}' needs a type annotation: {param}: {hint}"
        )
    found = shape(annotation)
    if param in expected:
        if found != {expected[param]}:
            raise EvaluatorDeclarationError(
                f"{label}: parameter '{param}' must be annotated {expected[param]}, "
                f"got {describe(annotation)}"
            )
        return None
    if found == {"Table"}:
        return "arrow"
    if found == {"DataFrame"}:
        return "pandas"
    raise EvaluatorDeclarationError(
        f"{label}: parameter 'spans' must be annotated pa.Table or pd.DataFrame, "
        f"got {describe(annotation)}"
    )


def check_return_annotation(label: str, target: Target, annotation: Any) -> None:
    """Check that the return annotation fits the target (Score or BatchScores)."""
    wanted = "BatchScores (or list[Score | None])" if target == "batch" else "Score"
    if annotation is EMPTY:
        raise EvaluatorDeclarationError(f"{label}: add a return annotation: -> {wanted}")
    allowed = BATCH_RETURNS if target == "batch" else SCORE_RETURNS
    if shape(annotation) not in allowed:
        raise EvaluatorDeclarationError(
            f"{label}: must return {wanted}, but is annotated -> {describe(annotation)}"
        )


def check_option_parameters(label: str, parameters: list[inspect.Parameter]) -> None:
    """Factory and class options must be named and annotated."""
    for param in parameters:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise EvaluatorDeclarationError(
                f"{label}: options must be named parameters, not *{param.name}"
            )
        if param.annotation is EMPTY:
            raise EvaluatorDeclarationError(
                f"{label}: option {param.name!r} needs a type annotation "
                "(options come from config files and must say what they accept)"
            )


def never_returns_value(fn: Callable[..., Any]) -> bool:
    """True when the factory's own body (not nested functions) has no ``return <value>``.

    Unknown (no source, e.g. defined in a REPL) counts as returning: the call checks again.
    """
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return False
    node = next(
        (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)),
        None,
    )
    if node is None:
        return False
    stack: list[ast.AST] = list(node.body)
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Return) and current.value is not None:
            return False
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        stack.extend(ast.iter_child_nodes(current))
    return not any(isinstance(n, ast.Raise) for n in node.body)
