"""The feedback operations as HTTP routes of the collector (JSON in, JSON out).

Bad input answers 400, unknown things 404, stale versions 409, each as
``{"error": "...", ...details}``; an unexpected failure answers 500 and is logged; the
collector keeps running either way.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from loopwise.collector.server.responses import json_error, json_response
from loopwise.collector.store import QueryTimeout, Store, StoreError

from .errors import FeedbackError
from .operations import Call, Operation, all_operations

log = logging.getLogger("loopwise.feedback")

MAX_BODY_BYTES = 64 * 1024 * 1024


DECISION_PATH = "/api/reviews/{item_id}/decision"
MAX_WAIT_S = 30.0
POLL_INTERVAL_S = 0.2


def feedback_routes(store: Store) -> list[BaseRoute]:
    """One route per (path, method) of the feedback operations, bound to ``store``; a held
    item's decision is long-polled (``?wait=SECONDS``, at most 30)."""
    routes: list[BaseRoute] = []
    for op in all_operations():
        handler = _endpoint(store, op)
        if op.path == DECISION_PATH:
            handler = _long_poll(handler)
        routes.append(Route(op.path, handler, methods=[op.method]))
    return routes


def _long_poll(
    endpoint: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """Answer as soon as the item is decided, or after ``wait`` seconds with it still held.
    Polling the store (a key lookup every 0.2 s) keeps waiting workflows off the thread pool and
    works across collector restarts: the decision lives in the store, not in this process."""

    async def poll(request: Request) -> Response:
        raw = request.query_params.get("wait") or "0"
        try:
            wait = min(max(float(raw), 0.0), MAX_WAIT_S)
        except ValueError:
            return json_error(400, f"wait must be a number of seconds, got {raw[:40]!r}")
        if wait != wait:  # NaN
            return json_error(400, "wait must be a number of seconds")
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            response = await endpoint(request)
            if response.status_code != 200 or not _still_held(bytes(response.body)):
                return response
            if asyncio.get_running_loop().time() >= deadline:
                return response
            if await request.is_disconnected():
                return response
            await asyncio.sleep(POLL_INTERVAL_S)

    return poll


def _endpoint(store: Store, operation: Operation) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            body = await _body(request) if request.method == "POST" else None
            call = Call(dict(request.path_params), dict(request.query_params), body)
            result = await run_in_threadpool(operation.handler, store, call)
        except FeedbackError as exc:
            return json_response(exc.to_dict(), exc.status)
        except RecursionError:
            return json_error(400, "the request is nested too deeply")
        except QueryTimeout as exc:  # retryable, as on every other route
            return json_error(503, str(exc))
        except StoreError as exc:
            return json_error(503, str(exc))
        except Exception as exc:  # the collector answers every input; it never dies on one
            log.exception("feedback %s %s failed", request.method, request.url.path)
            return json_error(500, f"internal error: {type(exc).__name__}")
        return json_response(result, operation.status)

    return endpoint


def _still_held(body: bytes) -> bool:
    answer = json.loads(body)
    return isinstance(answer, dict) and answer.get("action") == "held"


async def _body(request: Request) -> object:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise FeedbackError(f"request body larger than {MAX_BODY_BYTES} bytes")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise FeedbackError(f"request body larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise FeedbackError("the request body is not valid JSON") from None
    except RecursionError:
        raise FeedbackError("the request body is nested too deeply") from None
