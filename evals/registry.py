"""The evaluator registry: names → declared evaluators and factories.

Built-ins register themselves; other packages ship evaluators through the entry-point group
``loopwise.evaluators`` (``name = "package.module:attribute"``, the attribute being a
declared evaluator or factory), loaded on first use. Config files may also name any
declared evaluator by import path (``"package.module:attribute"``).
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterator, Mapping
from importlib.metadata import entry_points
from typing import Any

from .declare import Declared, Evaluator, EvaluatorFactory

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "loopwise.evaluators"


class UnknownEvaluator(KeyError):
    """No evaluator is registered under that name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown evaluator"


class Registry:
    """Declared evaluators and factories by name."""

    def __init__(self, *, load_entry_points: bool = True) -> None:
        self._items: dict[str, Declared] = {}
        self._lock = threading.Lock()
        self._entry_points_loaded = not load_entry_points
        self.entry_point_errors: list[str] = []

    def register(self, declared: Declared, *, replace: bool = False) -> Declared:
        """Add a declared evaluator or factory under its name; returns it (usable as a
        decorator below ``@evaluator``). Registering a different object under a taken name
        raises ValueError unless ``replace``."""
        if not isinstance(declared, Evaluator | EvaluatorFactory):
            raise TypeError(
                f"register() takes what @evaluator returns, got {type(declared).__name__}"
            )
        with self._lock:
            current = self._items.get(declared.name)
            if current is not None and current is not declared and not replace:
                if _same_origin(current, declared):
                    log.debug("re-registering evaluator %s", declared.name)
                else:
                    raise ValueError(
                        f"an evaluator named {declared.name!r} is already registered "
                        f"({current.key}); pick another name or pass replace=True"
                    )
            self._items[declared.name] = declared
        return declared

    def get(self, name: str) -> Declared:
        """The declared evaluator or factory called ``name`` (or an import path)."""
        self._load_entry_points()
        with self._lock:
            found = self._items.get(name)
        if found is not None:
            return found
        if ":" in name:
            return load_import_path(name)
        known = ", ".join(sorted(self.names())) or "(none)"
        raise UnknownEvaluator(f"no evaluator named {name!r}; known: {known}")

    def create(self, name: str, params: Mapping[str, Any] | None = None) -> Evaluator:
        """An Evaluator from ``name`` with options ``params`` (factories only take options)."""
        declared = self.get(name)
        if isinstance(declared, EvaluatorFactory):
            return declared(**dict(params or {}))
        if params:
            raise ValueError(f"evaluator {name} takes no options, got {sorted(params)}")
        return declared

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self._load_entry_points()
        with self._lock:
            return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def __iter__(self) -> Iterator[Declared]:
        names = self.names()
        with self._lock:
            return iter([self._items[n] for n in names])

    def load_entry_points(self) -> list[str]:
        """Load (again) every entry point of the ``loopwise.evaluators`` group; returns the
        names added. A broken entry point is logged and listed in ``entry_point_errors``."""
        added: list[str] = []
        for point in entry_points(group=ENTRY_POINT_GROUP):
            try:
                declared = point.load()
                if not isinstance(declared, Evaluator | EvaluatorFactory):
                    raise TypeError(
                        f"{point.value} is a {type(declared).__name__}, not an @evaluator"
                    )
                if declared.name != point.name:
                    log.info("entry point %s registers evaluator %s", point.name, declared.name)
                self.register(declared)
                added.append(declared.name)
            except Exception as exc:
                message = f"entry point {point.name} = {point.value}: {exc}"
                self.entry_point_errors.append(message)
                log.warning("could not load evaluator %s", message)
        return added

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        self.load_entry_points()


def load_import_path(path: str) -> Declared:
    """Import ``package.module:attribute`` and check it is a declared evaluator."""
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
        found = getattr(module, attribute)
    except (ImportError, AttributeError) as exc:
        raise UnknownEvaluator(f"cannot import evaluator {path!r}: {exc}") from None
    if not isinstance(found, Evaluator | EvaluatorFactory):
        raise UnknownEvaluator(f"{path} is a {type(found).__name__}, not an @evaluator")
    return found


def _same_origin(a: Declared, b: Declared) -> bool:
    fa = a.build if isinstance(a, EvaluatorFactory) else a.fn
    fb = b.build if isinstance(b, EvaluatorFactory) else b.fn
    return (getattr(fa, "__module__", None), getattr(fa, "__qualname__", None)) == (
        getattr(fb, "__module__", None),
        getattr(fb, "__qualname__", None),
    )


_default_registry = Registry()


def default_registry() -> Registry:
    """The process-wide registry the built-ins and entry points register into."""
    from . import builtins, judge  # noqa: F401 - importing registers the built-ins

    return _default_registry


def register(declared: Declared, *, replace: bool = False) -> Declared:
    """Register into the default registry (see ``Registry.register``)."""
    return _default_registry.register(declared, replace=replace)
