"""``@evaluator``: declare a plain function, a factory or a class as an evaluator.

Three forms, told apart by the first parameter's name::

    @evaluator(name="not_empty", version="1")
    def not_empty(span: SpanView) -> Score:              # scores one span
        return Score(passed=bool(span.output))

    @evaluator(name="answered", version="1")
    async def answered(trace: TraceView) -> Score: ...   # scores one trace (sync or async)

    @evaluator(name="short", version="1")
    def short(spans: pa.Table) -> BatchScores: ...      # vectorised over a batch

A function whose first parameter is anything else is a *factory*: its parameters are the
evaluator's options, and it returns the scoring function. A class works like a factory:
``__init__`` takes the options and ``evaluate`` (or ``__call__``) scores.

Everything that can be checked is checked when the decorator runs, with a message that
says what to change: parameter names and annotations, return annotations, and factories
whose body never returns a value.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast, overload

from .annotations import EMPTY, describe, shape, type_hints
from .signatures import (
    TARGET_PARAMETERS,
    BatchFormat,
    EvaluatorDeclarationError,
    Target,
    check_identity,
    check_option_parameters,
    check_return_annotation,
    check_target_annotation,
    never_returns_value,
)

EvaluatorKind = Literal["code", "llm"]
Direction = Literal["higher", "lower", "none"]
"""Which way of a score's ``value`` is better: ``higher`` (a pass rate, a similarity, 1 for
a pass), ``lower`` (a latency, a cost, a count of leaks) or ``none`` (a measurement with no
better side, such as a length that must stay within bounds: compare ``passed`` instead)."""
DIRECTIONS: tuple[Direction, ...] = ("higher", "lower", "none")


def check_direction(label: str, direction: object) -> Direction:
    """``direction`` if it is one of ``DIRECTIONS``; else an EvaluatorDeclarationError."""
    for known in DIRECTIONS:
        if direction == known:
            return known
    raise EvaluatorDeclarationError(
        f"{label}: direction must be one of {', '.join(map(repr, DIRECTIONS))} "
        f"(which way of the value is better), got {direction!r}"
    )


@dataclass(frozen=True, eq=False)
class Evaluator:
    """A declared evaluator: a scoring callable plus its identity and how to call it.

    Calling the evaluator calls the scoring function unchanged, so evaluators stay easy to
    test: ``not_empty(SpanView(...))``.
    """

    name: str
    version: str
    kind: EvaluatorKind
    target: Target
    fn: Callable[..., Any]
    is_async: bool = False
    needs_context: bool = False
    batch_format: BatchFormat | None = None
    optional: bool = False
    description: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    owner: Any = None
    direction: Direction = "higher"

    def __call__(self, item: Any) -> Any:
        return self.fn(item)

    @property
    def key(self) -> str:
        """``name@version``."""
        return f"{self.name}@{self.version}"

    def setup(self, runtime: Any) -> None:
        """Give a class-based evaluator the runtime (store, judge cache, tracer) it asks for."""
        hook = getattr(self.owner, "setup", None)
        if callable(hook):
            hook(runtime)

    async def aclose(self) -> None:
        """Release what a class-based evaluator opened for one run (HTTP clients)."""
        hook = getattr(self.owner, "aclose", None)
        if callable(hook):
            result = hook()
            if inspect.isawaitable(result):
                await result


@dataclass(frozen=True, eq=False)
class EvaluatorFactory:
    """A declared factory (function or class): call it with options to get an Evaluator."""

    name: str
    version: str
    kind: EvaluatorKind
    needs_context: bool
    description: str
    build: Callable[..., Any]
    signature: inspect.Signature
    is_class: bool = False
    direction: Direction = "higher"

    def __call__(self, *args: Any, **params: Any) -> Evaluator:
        if args:
            raise TypeError(f"evaluator factory {self.name} takes keyword options only")
        try:
            self.signature.bind(**params)
        except TypeError as exc:
            raise ValueError(
                f"bad options for evaluator {self.name}{self.signature}: {exc}"
            ) from None
        made = self.build(**params)
        where = f"{'class' if self.is_class else 'factory'} {self.name}"
        if made is None:
            raise EvaluatorDeclarationError(
                f"{where} returned None: did you forget `return` the scoring function?"
            )
        if isinstance(made, Evaluator):
            return replace(
                made,
                name=self.name,
                version=self.version,
                kind=self.kind,
                params=dict(params),
                direction=self.direction,
            )
        if self.is_class:
            method = getattr(made, "evaluate", None)
            made, owner = (method if callable(method) else made.__call__), made
        elif not callable(made):
            raise EvaluatorDeclarationError(
                f"{where} returned {type(made).__name__}, not a scoring function"
            )
        else:
            owner = None
        return _declare_function(
            made,
            name=self.name,
            version=self.version,
            kind=self.kind,
            needs_context=self.needs_context,
            description=self.description,
            params=dict(params),
            owner=owner,
            direction=self.direction,
        )

    @property
    def key(self) -> str:
        """``name@version``."""
        return f"{self.name}@{self.version}"


Declared = Evaluator | EvaluatorFactory


@overload
def evaluator(target: Callable[..., Any], /) -> Declared: ...


@overload
def evaluator(
    target: None = None,
    /,
    *,
    name: str | None = None,
    version: str = "1",
    kind: EvaluatorKind = "code",
    needs_context: bool = False,
    description: str | None = None,
    direction: Direction = "higher",
) -> Callable[[Callable[..., Any]], Declared]: ...


def evaluator(
    target: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    version: str = "1",
    kind: EvaluatorKind = "code",
    needs_context: bool = False,
    description: str | None = None,
    direction: Direction = "higher",
) -> Declared | Callable[[Callable[..., Any]], Declared]:
    """Declare an evaluator (see the module docstring for the three forms).

    ``name`` defaults to the function's name; ``version`` is stored with every score, so
    bump it when the evaluator's behaviour changes. ``kind`` is ``code`` or ``llm`` (a
    model judges). ``needs_context`` asks the runner to fill ``retrieved_context`` and
    ``root_input`` from the span's trace. ``direction`` says which way of the score's
    ``value`` is better (``higher``, ``lower`` or ``none``); every mean, trend, threshold and
    baseline comparison reads values that way. A score that only passes or fails stores
    ``value`` 1 for a pass and keeps the default, ``higher``.
    """

    def declare(obj: Callable[..., Any]) -> Declared:
        label = getattr(obj, "__qualname__", repr(obj))
        chosen = check_identity(label, str(name or getattr(obj, "__name__", "")), version, kind)
        better = check_direction(label, direction)
        doc = description if description is not None else _first_line(obj.__doc__)
        if inspect.isclass(obj):
            return replace(_declare_class(obj, *chosen, needs_context, doc), direction=better)
        if not callable(obj):
            raise EvaluatorDeclarationError(f"@evaluator needs a function or class, got {label}")
        params = list(inspect.signature(obj).parameters.values())
        if params and params[0].name in TARGET_PARAMETERS:
            return _declare_function(
                obj,
                name=chosen[0],
                version=chosen[1],
                kind=chosen[2],
                needs_context=needs_context,
                description=doc,
                direction=better,
            )
        return replace(_declare_factory(obj, *chosen, needs_context, doc), direction=better)

    if target is not None:
        if isinstance(target, str):
            raise EvaluatorDeclarationError(
                "write @evaluator(name=...) with keywords, not @evaluator('name')"
            )
        return declare(target)
    return declare


def _declare_function(
    fn: Callable[..., Any],
    *,
    name: str,
    version: str,
    kind: EvaluatorKind,
    needs_context: bool,
    description: str,
    params: Mapping[str, Any] | None = None,
    owner: Any = None,
    skip_first: bool = False,
    direction: Direction = "higher",
) -> Evaluator:
    label = getattr(fn, "__qualname__", repr(fn))
    if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
        raise EvaluatorDeclarationError(f"{label}: an evaluator returns a Score; it cannot yield")
    parameters = list(inspect.signature(fn).parameters.values())[1 if skip_first else 0 :]
    if not parameters or parameters[0].name not in TARGET_PARAMETERS:
        got = repr(parameters[0].name) if parameters else "no parameters"
        raise EvaluatorDeclarationError(
            f"{label}: the first parameter must be named 'span' (one span), 'trace' (a whole "
            f"trace) or 'spans' (a batch), got {got}"
        )
    first = parameters[0]
    target = TARGET_PARAMETERS[first.name]
    if first.kind not in (first.POSITIONAL_ONLY, first.POSITIONAL_OR_KEYWORD):
        raise EvaluatorDeclarationError(f"{label}: '{first.name}' must be a positional parameter")
    for extra in parameters[1:]:
        raise EvaluatorDeclarationError(
            f"{label}: unexpected parameter {extra.name!r}; an evaluator takes only "
            f"'{first.name}'. Put options in a factory: @evaluator(name=...) "
            f"def make({extra.name}: ...) -> Evaluator, returning the scoring function"
        )
    hints = type_hints(fn)
    batch_format = check_target_annotation(label, first.name, hints.get(first.name, EMPTY))
    check_return_annotation(label, target, hints.get("return", EMPTY))
    returns = shape(hints.get("return"))
    return Evaluator(
        name=name,
        version=version,
        kind=kind,
        target=target,
        fn=fn,
        is_async=inspect.iscoroutinefunction(fn),
        needs_context=needs_context,
        batch_format=batch_format,
        optional="None" in returns or "list[None|Score]" in returns,
        description=description,
        params=dict(params or {}),
        owner=owner,
        direction=direction,
    )


def _declare_factory(
    fn: Callable[..., Any],
    name: str,
    version: str,
    kind: EvaluatorKind,
    needs_context: bool,
    description: str,
) -> EvaluatorFactory:
    label = getattr(fn, "__qualname__", repr(fn))
    signature = inspect.signature(fn)
    returns = signature.return_annotation
    if returns is EMPTY:
        first = next(iter(signature.parameters), None)
        raise EvaluatorDeclarationError(
            f"{label}: is this an evaluator or a factory? An evaluator's first parameter is "
            f"named 'span', 'trace' or 'spans' (got {first!r}); a factory needs a return "
            "annotation: -> Evaluator"
        )
    if shape(type_hints(fn).get("return", returns)) & {"Score", "BatchScores"}:
        first = next(iter(signature.parameters), None)
        raise EvaluatorDeclarationError(
            f"{label}: returns a Score, so its first parameter must be named 'span', 'trace' "
            f"or 'spans', got {first!r}"
        )
    if not shape(type_hints(fn).get("return", returns)) & {"Evaluator", "Callable"}:
        raise EvaluatorDeclarationError(
            f"{label}: a factory must be annotated -> Evaluator (or a Callable), "
            f"got -> {describe(returns)}"
        )
    check_option_parameters(label, list(signature.parameters.values()))
    if inspect.iscoroutinefunction(fn):
        raise EvaluatorDeclarationError(f"{label}: a factory must be a plain (sync) function")
    if never_returns_value(fn):
        raise EvaluatorDeclarationError(
            f"{label}: this factory never returns a value; did you forget "
            "`return <scoring function>` at the end?"
        )
    return EvaluatorFactory(
        name=name,
        version=version,
        kind=kind,
        needs_context=needs_context,
        description=description,
        build=fn,
        signature=signature,
    )


def _declare_class(
    cls: type, name: str, version: str, kind: EvaluatorKind, needs_context: bool, doc: str
) -> EvaluatorFactory:
    label = cls.__qualname__
    method = cls.__dict__.get("evaluate") or _own_call(cls)
    if method is None or not callable(method):
        raise EvaluatorDeclarationError(
            f"{label}: an evaluator class needs a method evaluate(self, span) -> Score "
            "(or __call__, or with 'trace' / 'spans')"
        )
    # Check the scoring method now, with ``self`` skipped, so mistakes surface at declaration.
    _declare_function(
        method,
        name=name,
        version=version,
        kind=kind,
        needs_context=needs_context,
        description=doc,
        skip_first=True,
    )
    init_signature = inspect.signature(cls)
    check_option_parameters(label, list(init_signature.parameters.values()))
    return EvaluatorFactory(
        name=name,
        version=version,
        kind=kind,
        needs_context=needs_context,
        description=doc,
        build=cls,
        signature=init_signature,
        is_class=True,
    )


def _own_call(cls: type) -> Callable[..., Any] | None:
    for klass in cls.__mro__[:-1]:
        if "evaluate" in klass.__dict__:
            return cast(Callable[..., Any], klass.__dict__["evaluate"])
        if "__call__" in klass.__dict__:
            return cast(Callable[..., Any], klass.__dict__["__call__"])
    return None


def _first_line(doc: str | None) -> str:
    return doc.strip().splitlines()[0] if doc and doc.strip() else ""
