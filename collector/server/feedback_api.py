"""``POST /api/feedback``: end-user feedback on a trace, stored as a human score.

Body: ``{"trace_id", "name", "value", "comment"?, "user_id"?, "span_id"?, "metadata"?,
"project"?}``; ``value`` is true/false (thumbs), a number or a text label. Answers 201 with
``{"score_id", "project", "trace_found"}``. Bad input is a 400 naming the field and writes
nothing. A trace id the store does not know yet is accepted and marked (``trace_found``
false): the SDK exports spans in batches, so feedback often arrives first.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..store import QueryTimeout, UserFeedbackError, parse_feedback, record_feedback
from .decode import BadRequest
from .responses import json_error, json_response, loads_body

if TYPE_CHECKING:
    from .app import Collector

log = logging.getLogger(__name__)

MAX_FEEDBACK_BYTES = 64 * 1024


def feedback_routes(collector: Collector) -> list[BaseRoute]:
    """The feedback route, bound to ``collector``'s store."""

    async def post_feedback(request: Request) -> Response:
        try:
            body = await read_limited(request, MAX_FEEDBACK_BYTES)
            feedback = parse_feedback(_json_object(body))
            receipt = await run_in_threadpool(
                record_feedback,
                collector.store,
                feedback,
                default_project=collector.config.default_project,
            )
        except BadRequest as exc:
            return json_error(exc.status, exc.message)
        except UserFeedbackError as exc:
            return json_error(400, str(exc))
        except QueryTimeout as exc:
            return json_error(503, str(exc))
        except Exception as exc:  # the collector answers every request; it never dies on one
            log.exception("storing feedback failed")
            return json_error(503, f"could not store feedback: {type(exc).__name__}")
        return json_response(
            {
                "score_id": receipt.score_id,
                "project": receipt.project,
                "trace_found": receipt.trace_found,
            },
            status=201,
        )

    return [Route("/api/feedback", post_feedback, methods=["POST"])]


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with a 413 (BadRequest) as soon as it passes ``limit``."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, f"body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(413, f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _json_object(body: bytes) -> object:
    try:
        return loads_body(body)
    except ValueError:
        raise BadRequest(400, "body must be a JSON object") from None
