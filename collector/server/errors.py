"""The one place the JSON API turns an exception into a reply.

Every JSON route is an ``ApiRoute``: whatever its endpoint raises is answered here, as
``{"error": message, ...details}`` with the status the error carries. Bad parameters and
bodies (pydantic's validation errors) are a 400 naming the parameter and its bounds, never
FastAPI's default 422; an unexpected failure is a logged 500; the collector keeps running.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

from annotated_types import Ge, Le
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ..api_errors import ApiError
from ..store import QueryRejected, QueryTimeout, QueryTooLarge, StoreError
from .decode import BadRequest, read_body
from .responses import json_error, json_response

log = logging.getLogger("loopwise.api")

M = TypeVar("M", bound=BaseModel)
MAX_JSON_BODY_BYTES = 1024 * 1024

Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


def error_response(request: Request, exc: Exception) -> Response:
    """The reply to ``exc`` raised while answering ``request``."""
    if isinstance(exc, ApiError):
        response = json_response(exc.to_dict(), exc.status)
        response.headers.update(exc.headers)
        return response
    if isinstance(exc, RequestValidationError):
        return json_error(400, validation_message(request, exc.errors()))
    if isinstance(exc, HTTPException):  # FastAPI's own: a body it could not parse at all
        detail = str(exc.detail or "")
        if exc.status_code == 400 and "parsing the body" in detail:
            detail = f"body could not be parsed (nested too deeply?); send {_body_shape(request)}"
        return json_error(exc.status_code, detail or "error")
    if isinstance(exc, QueryTimeout):  # retryable, on every route
        return json_error(503, str(exc))
    if isinstance(exc, QueryRejected | QueryTooLarge):  # the query's fault: a 400
        return json_error(400, str(exc))
    if isinstance(exc, StoreError):
        return json_error(503, str(exc))
    if isinstance(exc, RecursionError):
        return json_error(400, "the request is nested too deeply")
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return json_error(500, f"internal error: {type(exc).__name__}")


class ApiRoute(APIRoute):
    """A FastAPI route whose errors, validation errors included, are answered by
    ``error_response``."""

    def get_route_handler(self) -> Endpoint:
        """The route's handler wrapped so that nothing it raises escapes as a bare 500."""
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            request.scope["query_string"] = without_empty_params(
                request.scope.get("query_string", b"")
            )
            try:
                return await handler(request)
            except Exception as exc:  # the collector answers every request
                return error_response(request, exc)

        return handle


async def model_body(request: Request, model: type[M], limit: int = MAX_JSON_BODY_BYTES) -> M:
    """The request body as ``model``, whatever its Content-Type says (``curl -d`` sends JSON
    labelled as a form); capped at ``limit`` bytes; a 400 naming the field otherwise."""
    raw = await read_body(request, limit)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if errors and errors[0].get("type") in (
            "json_invalid",
            "model_type",
            "model_attributes_type",
        ):
            raise BadRequest(400, f"body must be JSON: {_shape_of(model)}") from None
        raise BadRequest(400, validation_message(request, errors, model)) from None


def body_schema(model: type[BaseModel], required: bool = True) -> dict[str, Any]:
    """The ``openapi_extra`` that documents ``model`` as a route's JSON body."""
    content = {"application/json": {"schema": model.model_json_schema()}}
    return {"requestBody": {"required": required, "content": content}}


def without_empty_params(query_string: bytes) -> bytes:
    """The query string without its empty parameters: ``?limit=`` means "the default" on
    every route, as a form that leaves a field blank means."""
    if not query_string:
        return query_string
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    kept = [(name, value) for name, value in pairs if value != ""]
    if len(kept) == len(pairs):
        return query_string
    return urlencode(kept).encode("latin-1")


def validation_message(
    request: Request, errors: Sequence[Any], model: type[BaseModel] | None = None
) -> str:
    """The first validation error as one sentence naming the parameter, in the words every
    route used before: ``limit must be between 1 and 1000, got 0``."""
    if not errors:
        return "the request is not valid"
    error = errors[0]
    location = [str(part) for part in error.get("loc", ()) if part != "body"]
    where = error.get("loc", ("",))[0]
    name = ".".join(location[1:] if where in ("query", "path", "header") else location)
    kind = str(error.get("type", ""))
    given = _shown(error.get("input"))
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        low, high = _bounds(request, name) if model is None else _field_bounds(model, location)
        if low is not None and high is not None:
            return f"{name} must be between {low} and {high}, got {given}"
        if low is not None:
            return f"{name} must be at least {low}, got {given}"
        if high is not None:
            return f"{name} must be at most {high}, got {given}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{name} must be an integer, got {given!r}"
    if kind in ("float_parsing", "float_type"):
        return f"{name} must be a number, got {given!r}"
    if kind == "string_pattern_mismatch":
        pattern = str((error.get("ctx") or {}).get("pattern", ""))
        hex_id = re.fullmatch(r"\^\[0-9a-fA-F\]\{(\d+)\}\$", pattern)
        if hex_id:
            return f"{name} must be {hex_id.group(1)} hex characters, got {given!r}"
        return f"{name} must match {pattern}, got {given!r}"
    if kind in ("list_type", "dict_type") and name:
        return f"{name} must be {'a list' if kind == 'list_type' else 'an object'}"
    if kind in ("string_type", "bool_type") and name:
        return f"{name} must be a {'string' if kind == 'string_type' else 'boolean'}"
    if kind == "string_too_long":
        limit = (error.get("ctx") or {}).get("max_length")
        return f"{name} is longer than {limit} characters"
    if kind == "missing":
        return f"{name} is required" if name else "the request body is required"
    if kind == "json_invalid" or (
        kind in ("model_attributes_type", "dict_type", "model_type") and not name
    ):
        return f"body must be JSON: {_body_shape(request)}"
    if kind == "literal_error":
        expected = (error.get("ctx") or {}).get("expected", "one of the documented values")
        return f"{name} must be {expected}, got {given!r}"
    if kind == "extra_forbidden":
        return f"{name} is not a field this route takes"
    message = str(error.get("msg", "is not valid"))
    return f"{name}: {message}" if name else message


def _field_bounds(model: type[BaseModel], location: Sequence[str]) -> tuple[Any, Any]:
    """The bounds declared on the body field at ``location`` (a top-level field of ``model``)."""
    info = model.model_fields.get(location[0]) if len(location) == 1 else None
    return _declared_bounds(info.metadata if info is not None else ())


def _declared_bounds(metadata: Sequence[Any]) -> tuple[Any, Any]:
    """The ``ge`` and ``le`` among a field's constraints (None where it declares none)."""
    low = high = None
    for rule in metadata:
        if isinstance(rule, Ge):
            low = rule.ge
        elif isinstance(rule, Le):
            high = rule.le
    return low, high


def _shown(value: Any) -> Any:
    return value[:40] if isinstance(value, str) else value


def _body_shape(request: Request) -> str:
    """``an object with "sql"``: the fields the route's body model requires."""
    field = getattr(request.scope.get("route"), "body_field", None)
    return _shape_of(getattr(getattr(field, "field_info", None), "annotation", None))


def _shape_of(model: Any) -> str:
    fields = getattr(model, "model_fields", None) or {}
    required = [f'"{name}"' for name, info in fields.items() if info.is_required()]
    return f"an object with {', '.join(required)}" if required else "an object"


def _bounds(request: Request, name: str) -> tuple[Any, Any]:
    """The lower and upper bound declared on parameter ``name`` of the route answering
    ``request`` (None where it declares none)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None, None
    for param in [*dependant.query_params, *dependant.path_params]:
        if name in (param.name, param.alias):
            return _declared_bounds(param.field_info.metadata)
    return None, None
