"""The feedback operations as HTTP routes of the collector (JSON in, JSON out).

Bad input answers 400, unknown things 404, stale versions 409, each as
``{"error": "...", ...details}``; an unexpected failure answers 500 and is logged; the
collector keeps running either way.
"""

from __future__ import annotations

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


def feedback_routes(store: Store) -> list[BaseRoute]:
    """One route per (path, method) of the feedback operations, bound to ``store``."""
    return [Route(op.path, _endpoint(store, op), methods=[op.method]) for op in all_operations()]


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
        except QueryTimeout as exc:
            return json_error(400, str(exc))
        except StoreError as exc:
            return json_error(503, str(exc))
        except Exception as exc:  # the collector answers every input; it never dies on one
            log.exception("feedback %s %s failed", request.method, request.url.path)
            return json_error(500, f"internal error: {type(exc).__name__}")
        return json_response(result, operation.status)

    return endpoint


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
