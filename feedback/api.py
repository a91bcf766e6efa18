"""The feedback operations as HTTP routes of the collector (JSON in, JSON out).

Each operation is a FastAPI route of the collector's one error mapping (``ApiRoute``): bad
input answers 400, unknown things 404, stale versions 409, each as
``{"error": "...", ...details}``; an unexpected failure answers 500 and is logged; the
collector keeps running either way. A route hands what arrived (path parameters, query text,
the JSON body) to its operation's ``check``, the validation ``LocalBackend`` runs on a file
too, so a bad parameter or field is the same 400 with the same message either way. The
routes are listed in ``/openapi.json`` with their path parameters, their query parameters
(names, types, defaults, bounds) from the operation's query model and their JSON body from
its body model (``feedback.requests``).
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from loopwise.collector.server.decode import read_body
from loopwise.collector.server.errors import ApiRoute
from loopwise.collector.server.responses import json_response
from loopwise.collector.store import Store

from .errors import FeedbackError
from .operations import Call, Checked, Operation, all_operations
from .requests import DecisionQuery

MAX_BODY_BYTES = 64 * 1024 * 1024

DECISION_PATH = "/api/reviews/{item_id}/decision"
POLL_INTERVAL_S = 0.2

Endpoint = Callable[[Request], Awaitable[Response]]


def feedback_routes(store: Store) -> list[BaseRoute]:
    """One route per (path, method) of the feedback operations, bound to ``store``; a held
    item's decision is long-polled (``?wait=SECONDS``, at most 30)."""
    router = APIRouter(route_class=ApiRoute)
    for op in all_operations():
        endpoint = _long_poll(store, op) if op.path == DECISION_PATH else _endpoint(store, op)
        doc = inspect.getdoc(op.handler) or ""
        router.add_api_route(
            op.path,
            endpoint,
            methods=[op.method],
            status_code=op.status,
            name=f"{op.method.lower()}_{op.path.strip('/').replace('/', '_')}",
            summary=doc.split("\n\n")[0].replace("\n", " ") or None,
            tags=[_tag(op.path)],
            openapi_extra=_described(op),
        )
    return list(router.routes)


def _endpoint(store: Store, operation: Operation) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        call = await _call(operation, request)
        result = await run_in_threadpool(operation, store, call)
        return json_response(result, operation.status)

    return endpoint


def _long_poll(store: Store, operation: Operation) -> Endpoint:
    """Answer as soon as the item is decided, or after ``wait`` seconds with it still held.
    Polling the store (a key lookup every 0.2 s) keeps waiting workflows off the thread pool and
    works across collector restarts: the decision lives in the store, not in this process."""

    async def poll(request: Request) -> Response:
        checked = await run_in_threadpool(operation.check, await _call(operation, request))
        query = checked.query
        wait = query.wait if isinstance(query, DecisionQuery) else 0.0
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            result = await _run(store, operation, checked)
            held = isinstance(result, dict) and result.get("action") == "held"
            if not held or asyncio.get_running_loop().time() >= deadline:
                return json_response(result, operation.status)
            if await request.is_disconnected():
                return json_response(result, operation.status)
            await asyncio.sleep(POLL_INTERVAL_S)

    return poll


async def _call(operation: Operation, request: Request) -> Call:
    """What arrived, not validated yet; the body is read only by an operation that takes one."""
    body = await _body(request) if operation.body is not None else None
    return Call(dict(request.path_params), dict(request.query_params), body)


async def _run(store: Store, operation: Operation, checked: Checked) -> Any:
    return await run_in_threadpool(operation.run, store, checked)


async def _body(request: Request) -> object:
    raw = await read_body(request, MAX_BODY_BYTES)
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise FeedbackError("the request body is not valid JSON") from None
    except RecursionError:
        raise FeedbackError("the request body is nested too deeply") from None


def _tag(path: str) -> str:
    """``reviews``, ``datasets``, ``prompts``, ``calibration``: the API area of a path."""
    parts = path.strip("/").split("/")
    return parts[1] if len(parts) > 1 else parts[0]


def _described(operation: Operation) -> dict[str, Any]:
    """The operation's path parameters, its query parameters (from its query model) and its
    JSON body (from its body model), for /openapi.json."""
    names = [part[1:-1] for part in operation.path.split("/") if part.startswith("{")]
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in names
    ]
    if operation.query is not None:
        parameters += query_parameters(operation.query)
    described: dict[str, Any] = {"parameters": parameters}
    if operation.body is not None:
        content = {"application/json": {"schema": inlined(operation.body.model_json_schema())}}
        described["requestBody"] = {"required": True, "content": content}
    return described


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The OpenAPI query parameters a query model reads: name, schema (type, default,
    bounds, allowed values) and description."""
    properties = model.model_json_schema()["properties"]
    found = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        schema = dict(properties[key])
        description = schema.pop("description", None)
        others = [s for s in schema.pop("anyOf", []) if s != {"type": "null"}]
        if len(others) == 1:  # absent means the default: no need to say "or null"
            schema.update(others[0])
        elif others:
            schema["anyOf"] = others
        parameter = {"name": key, "in": "query", "required": info.is_required(), "schema": schema}
        if description:
            parameter["description"] = description
        found.append(parameter)
    return found


def inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its nested models (``$defs``) written in place, so the
    schema stands on its own inside /openapi.json (where ``#/$defs/...`` resolves nowhere)."""
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return {**resolve(defs[ref.removeprefix("#/$defs/")]), **resolve(rest)}
            return {k: resolve(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved
