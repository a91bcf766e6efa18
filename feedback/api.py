"""The feedback operations as HTTP routes of the collector (JSON in, JSON out).

Each operation is a FastAPI route of the collector's one error mapping (``ApiRoute``): bad
input answers 400, unknown things 404, stale versions 409, each as
``{"error": "...", ...details}``; an unexpected failure answers 500 and is logged; the
collector keeps running either way. The routes are listed in ``/openapi.json`` with their
path parameters; their query parameters and bodies are still read by the operation table's
``Call`` (the same table the CLI runs on a file), not yet declared as models.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from loopwise.collector.server.decode import read_body
from loopwise.collector.server.errors import ApiRoute
from loopwise.collector.server.responses import json_response
from loopwise.collector.store import Store

from .errors import FeedbackError
from .operations import Call, Operation, all_operations

MAX_BODY_BYTES = 64 * 1024 * 1024

DECISION_PATH = "/api/reviews/{item_id}/decision"
MAX_WAIT_S = 30.0
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
        result = await _run(store, operation, request)
        return json_response(result, operation.status)

    return endpoint


def _long_poll(store: Store, operation: Operation) -> Endpoint:
    """Answer as soon as the item is decided, or after ``wait`` seconds with it still held.
    Polling the store (a key lookup every 0.2 s) keeps waiting workflows off the thread pool and
    works across collector restarts: the decision lives in the store, not in this process."""

    async def poll(request: Request) -> Response:
        raw = request.query_params.get("wait") or "0"
        try:
            wait = min(max(float(raw), 0.0), MAX_WAIT_S)
        except ValueError:
            raise FeedbackError(f"wait must be a number of seconds, got {raw[:40]!r}") from None
        if wait != wait:  # NaN
            raise FeedbackError("wait must be a number of seconds")
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            result = await _run(store, operation, request)
            held = isinstance(result, dict) and result.get("action") == "held"
            if not held or asyncio.get_running_loop().time() >= deadline:
                return json_response(result, operation.status)
            if await request.is_disconnected():
                return json_response(result, operation.status)
            await asyncio.sleep(POLL_INTERVAL_S)

    return poll


async def _run(store: Store, operation: Operation, request: Request) -> Any:
    body = await _body(request) if request.method == "POST" else None
    call = Call(dict(request.path_params), dict(request.query_params), body)
    return await run_in_threadpool(operation.handler, store, call)


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
    """The operation's path parameters and (for a POST) its JSON body, for /openapi.json."""
    names = [part[1:-1] for part in operation.path.split("/") if part.startswith("{")]
    described: dict[str, Any] = {
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in names
        ]
    }
    if operation.method == "POST":
        content = {"application/json": {"schema": {"type": "object"}}}
        described["requestBody"] = {"required": False, "content": content}
    return described
