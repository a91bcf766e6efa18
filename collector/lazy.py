"""Lazy re-exports for a package ``__init__``: a name loads its module on first use.

Importing any submodule runs its package's ``__init__`` first, so a package that re-exports
its whole API eagerly makes ``import loopwise`` pay for DuckDB, pyarrow and pandas even in
an application that only traces. A package instead lists where each public name lives and
calls ``lazy_exports``; type checkers read the same names from an ``if TYPE_CHECKING:``
import block.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    namespace: dict[str, Any], exports: Mapping[str, tuple[str, ...]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the package whose globals are ``namespace``:
    ``exports`` maps each relative module (``".store"``) to the names it provides."""
    package = str(namespace["__name__"])
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value  # later lookups are plain attribute reads
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
