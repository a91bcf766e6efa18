"""The feedback API as a table of operations, shared by every way to reach it.

Each operation is (method, path, handler): the handler takes the store and a ``Call``
(path parameters, query parameters, JSON body) and returns JSON-ready data. The collector
serves the table over HTTP (``feedback.api``); the CLI runs the same table against the
API (``HttpBackend``) or straight against a DuckDB file (``LocalBackend``), so every
transport answers the same request with the same data and the same errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loopwise.collector.store import Store

from .errors import FeedbackError

Handler = Callable[[Store, "Call"], Any]


@dataclass(frozen=True)
class Call:
    """One request: path parameters, query parameters and the JSON body (None if absent)."""

    path: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    body: Any = None

    def json(self) -> dict[str, Any]:
        """The body, which must be a JSON object."""
        if not isinstance(self.body, dict):
            raise FeedbackError("the request body must be a JSON object")
        return self.body

    def text(self, name: str) -> str | None:
        """A query parameter (None when absent or empty)."""
        value = self.query.get(name)
        return value if value else None

    def integer(self, name: str, default: int | None, low: int, high: int) -> int | None:
        """An integer query parameter within [low, high]."""
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise FeedbackError(f"{name} must be an integer, got {raw!r}") from None
        if not low <= value <= high:
            raise FeedbackError(f"{name} must be between {low} and {high}, got {value}")
        return value


@dataclass(frozen=True)
class Operation:
    """One API operation; ``status`` is the success status (201 for creations)."""

    method: str
    path: str
    handler: Handler
    status: int = 200

    @property
    def pattern(self) -> re.Pattern[str]:
        """The path as a regular expression with a named group per ``{parameter}``."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path)
        return re.compile(f"^{regex}$")


def match(
    operations: list[Operation], method: str, path: str
) -> tuple[Operation, dict[str, str]] | None:
    """The first operation answering ``method`` on ``path``, with its path parameters."""
    for operation in operations:
        if operation.method != method:
            continue
        found = operation.pattern.match(path)
        if found:
            return operation, found.groupdict()
    return None


def all_operations() -> list[Operation]:
    """Every feedback operation, static paths before parameterised ones."""
    from .ops_datasets import DATASET_OPERATIONS
    from .ops_prompts import PROMPT_OPERATIONS
    from .ops_reviews import REVIEW_OPERATIONS

    return [*REVIEW_OPERATIONS, *DATASET_OPERATIONS, *PROMPT_OPERATIONS]
