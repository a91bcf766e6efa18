"""Langfuse's public REST API where a Langfuse SDK calls the collector.

``POST /api/public/scores``: the JSON array ``create_score`` and ``score_current_trace``
send, into the ``scores`` table (collector/store/langfuse_scores.py). Answers as Langfuse
does: 202 ``{"message": "Accepted"}`` when every score was stored, 207 ``{"accepted",
"rejected", "errors": [{"message"}]}`` when some were not (the SDK does not retry those),
400 for a body that is not a score or an array of them, 413 past the size limit. Auth is the
collector's (Basic ``public:secret`` carries the API key). Prompts
(``GET /api/public/v2/prompts/{name}``) are served by the feedback extension, which owns the
prompt registry.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..store.langfuse_scores import LangfuseScoreError, record_langfuse_scores
from .access import principal_of
from .decode import BadRequest, read_body
from .responses import json_error, json_response

if TYPE_CHECKING:
    from .app import Collector

log = logging.getLogger(__name__)

MAX_SCORES_BYTES = 4 * 1024 * 1024  # Langfuse's own limit is 1 MiB; its SDK keeps under it


def langfuse_routes(collector: Collector) -> list[BaseRoute]:
    """The Langfuse public API routes the collector serves."""

    async def post_scores(request: Request) -> Response:
        try:
            body = await read_body(request, MAX_SCORES_BYTES)
            try:
                payload = json.loads(body)
            except (ValueError, UnicodeDecodeError, RecursionError):
                raise BadRequest(400, "body must be JSON: a score or an array of scores") from None
            result = await run_in_threadpool(
                record_langfuse_scores,
                collector.store,
                payload,
                default_project=collector.config.default_project,
                project=principal_of(request.scope).project,
            )
        except BadRequest as exc:
            return json_error(exc.status, exc.message)
        except LangfuseScoreError as exc:
            return json_error(400, str(exc))
        except Exception as exc:  # the collector answers every request; it never dies on one
            log.exception("storing Langfuse scores failed")
            return json_error(503, f"could not store scores: {type(exc).__name__}")
        if not result.errors:
            return json_response({"message": "Accepted"}, status=202)
        return json_response(
            {
                "accepted": result.accepted,
                "rejected": len(result.errors),
                "errors": [{"message": message} for message in result.errors],
            },
            status=207,
        )

    return [Route("/api/public/scores", post_scores, methods=["POST"])]
