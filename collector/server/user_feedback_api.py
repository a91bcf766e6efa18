"""``POST /api/feedback``: end-user feedback on a trace, stored as a human score.

Body: ``{"trace_id", "name", "value", "comment"?, "user_id"?, "span_id"?, "metadata"?,
"project"?}``; ``value`` is true/false (thumbs), a number or a text label. Answers 201 with
``{"score_id", "project", "trace_found"}``. Bad input is a 400 naming the field and writes
nothing. A trace id the store does not know yet is accepted and marked (``trace_found``
false): the SDK exports spans in batches, so feedback often arrives first.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..api_errors import Unavailable
from ..store import UserFeedbackError, parse_feedback, record_feedback
from .decode import BadRequest, read_body
from .errors import ApiRoute
from .responses import json_response, loads_body
from .schemas import Reply

if TYPE_CHECKING:
    from .app import Collector

log = logging.getLogger(__name__)

MAX_FEEDBACK_BYTES = 64 * 1024


class UserFeedbackRequest(Reply):
    """End-user feedback on a trace: thumbs (true/false), a number or a text label."""

    trace_id: str
    name: str
    value: bool | float | str
    comment: str | None = None
    user_id: str | None = None
    span_id: str | None = None
    metadata: dict[str, Any] | None = None
    project: str | None = None


class UserFeedbackReceipt(Reply):
    """Where the feedback went; ``trace_found`` is false when its spans have not arrived."""

    score_id: str
    project: str
    trace_found: bool


_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": UserFeedbackRequest.model_json_schema()}},
    }
}


def user_feedback_routes(collector: Collector) -> APIRouter:
    """The end-user feedback route, bound to ``collector``'s store."""
    router = APIRouter(route_class=ApiRoute, tags=["user feedback"])

    # parse_feedback validates the body (the SDK sends the same shape), after a size cap.
    @router.post(
        "/api/feedback", response_model=UserFeedbackReceipt, status_code=201, openapi_extra=_BODY
    )
    async def post_feedback(request: Request) -> Response:
        """Store end-user feedback on a trace as a human score."""
        body = await read_body(request, MAX_FEEDBACK_BYTES)
        try:
            feedback = parse_feedback(_json_object(body))
        except UserFeedbackError as exc:
            raise BadRequest(400, str(exc)) from None
        try:
            receipt = await run_in_threadpool(
                record_feedback,
                collector.store,
                feedback,
                default_project=collector.config.default_project,
            )
        except Exception as exc:  # a store that cannot write now: the SDK retries a 503
            log.exception("storing feedback failed")
            raise Unavailable(f"could not store feedback: {type(exc).__name__}") from exc
        return json_response(
            {
                "score_id": receipt.score_id,
                "project": receipt.project,
                "trace_found": receipt.trace_found,
            },
            status=201,
        )

    return router


def _json_object(body: bytes) -> object:
    try:
        return loads_body(body)
    except ValueError:
        raise BadRequest(400, "body must be a JSON object") from None
