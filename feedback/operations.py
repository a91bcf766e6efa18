"""The feedback API as a table of operations, shared by every way to reach it.

Each operation is (method, path, handler) with the pydantic models of its query parameters
and of its JSON body (``feedback.requests``), where it has them. A transport turns what
arrived into a ``Call`` (path parameters, query text, parsed JSON body); ``Operation.check``
validates it against the models, the one place that does, and ``Operation.run`` hands the
handler the store, the path parameters and the validated models and returns its JSON-ready
data. The collector serves the table over HTTP (``feedback.api``); the CLI runs the same table
against the API (``HttpBackend``) or straight against a DuckDB file (``LocalBackend``), so
every transport answers the same request with the same data and the same errors.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ValidationError, create_model
from starlette.requests import Request

from loopwise.collector.server.errors import validation_message
from loopwise.collector.store import Store

from .errors import FeedbackError

PathParams = Mapping[str, str]
Q = TypeVar("Q", bound=BaseModel)
B = TypeVar("B", bound=BaseModel)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Call:
    """One request as a transport received it: path parameters, query parameters (text) and
    the JSON body (None if absent), not validated yet."""

    path: PathParams = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass(frozen=True)
class Checked:
    """A request its operation's models accepted: the path parameters, the query model and
    the body model (None where the operation declares none)."""

    path: PathParams
    query: BaseModel | None = None
    body: BaseModel | None = None


class Operation:
    """One API operation; ``status`` is the success status (201 for creations); ``query``
    and ``body`` are the models of its query parameters and JSON body. The handler is called
    as ``handler(store, path, [query], [body])``, with the models it declares."""

    @overload
    def __init__(
        self,
        method: str,
        path: str,
        handler: Callable[[Store, PathParams], Any],
        status: int = 200,
    ) -> None: ...

    @overload
    def __init__(
        self,
        method: str,
        path: str,
        handler: Callable[[Store, PathParams, Q], Any],
        status: int = 200,
        *,
        query: type[Q],
    ) -> None: ...

    @overload
    def __init__(
        self,
        method: str,
        path: str,
        handler: Callable[[Store, PathParams, B], Any],
        status: int = 200,
        *,
        body: type[B],
    ) -> None: ...

    @overload
    def __init__(
        self,
        method: str,
        path: str,
        handler: Callable[[Store, PathParams, Q, B], Any],
        status: int = 200,
        *,
        query: type[Q],
        body: type[B],
    ) -> None: ...

    def __init__(
        self,
        method: str,
        path: str,
        handler: Callable[..., Any],
        status: int = 200,
        *,
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.handler = handler
        self.status = status
        self.query = query
        self.body = body

    def __repr__(self) -> str:
        return f"Operation({self.method} {self.path})"

    @property
    def pattern(self) -> re.Pattern[str]:
        """The path as a regular expression with a named group per ``{parameter}``."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path)
        return re.compile(f"^{regex}$")

    def check(self, call: Call) -> Checked:
        """Validate ``call`` against the operation's models; FeedbackError (400) naming the
        first bad parameter or field otherwise. An empty query parameter means its default
        and unknown parameters are ignored; a body must be a JSON object."""
        query = None
        if self.query is not None:
            given = {name: value for name, value in call.query.items() if value != ""}
            query = validated(self.query, given)
        body = None
        if self.body is not None:
            if not isinstance(call.body, dict):
                raise FeedbackError("the request body must be a JSON object")
            body = validated(self.body, call.body)
        return Checked(call.path, query, body)

    def run(self, store: Store, checked: Checked) -> Any:
        """The handler's answer to a checked request."""
        models = [model for model in (checked.query, checked.body) if model is not None]
        return self.handler(store, checked.path, *models)

    def __call__(self, store: Store, call: Call) -> Any:
        """Check ``call``, then run it."""
        return self.run(store, self.check(call))


def validated(model: type[M], data: Mapping[str, Any]) -> M:
    """``data`` as ``model``; FeedbackError with the collector's one-line message otherwise
    (``limit must be between 1 and 1000, got 0``, ``actor is required``)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [_as_object(error) for error in exc.errors(include_url=False)]
        message = validation_message(_no_route(), errors, _by_alias(model))
        raise FeedbackError(message) from None


def _as_object(error: Any) -> Any:
    """A nested model that is not an object reads as "must be an object", as a dict does."""
    if error.get("type") in ("model_type", "model_attributes_type") and error.get("loc"):
        return {**error, "type": "dict_type"}
    return error


def _no_route() -> Request:
    """The request ``validation_message`` takes: it only asks it for the route's declared
    bounds, which it reads from the model here, so one without a route does (a file has none)."""
    return Request({"type": "http"})


@functools.cache
def _by_alias(model: type[BaseModel]) -> type[BaseModel]:
    """``model`` with its fields named as requests name them (``from``, not ``from_``), so the
    message helper finds a field's bounds under the name an error reports."""
    if all(info.alias is None for info in model.model_fields.values()):
        return model
    fields: dict[str, Any] = {
        info.alias or name: (info.annotation, info) for name, info in model.model_fields.items()
    }
    return create_model(model.__name__, **fields)


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
