"""Langfuse's public REST API where a Langfuse SDK calls the collector.

``POST /api/public/ingestion``: the batch the Langfuse SDK v2 and many integrations send
(``{"batch": [event, ...], "metadata": {...}}``): traces and observations become spans,
scores rows of ``scores``, SDK logs are dropped (collector/langfuse/). Answers as Langfuse
does: 207 ``{"successes": [{"id", "status": 201}], "errors": [{"id", "status", "message",
"error"}]}`` whatever the events held, each bad event a 400 of its own; the whole request is
refused only when it is not a batch (400 ``{"error"}``), too large (413), or cannot be
stored now (503, which the SDK retries). Same receiver rules as OTLP: the body limit
(``max_body_bytes``, gzip undone within it), the in-flight budget, auth.

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
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..langfuse.ids import map_score_ids
from ..langfuse.ingest import IngestionResult, IngestSettings, ingest_batch, sdk_resource
from ..store.langfuse_scores import LangfuseScoreError, record_langfuse_scores
from .access import principal_of
from .admission import Overloaded
from .decode import BadRequest, decompress, may_hold_surrogates, read_body
from .responses import json_error, json_response

if TYPE_CHECKING:
    from .app import Collector

log = logging.getLogger(__name__)

MAX_SCORES_BYTES = 4 * 1024 * 1024  # Langfuse's own limit is 1 MiB; its SDK keeps under it
MAX_EVENTS = 10_000  # per batch; the SDKs send at most a few hundred (2.5 MB)
BATCH_SHAPE = 'body must be JSON: {"batch": [event, ...], "metadata": {...}}'


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
                map_ids=map_score_ids,
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

    async def post_ingestion(request: Request) -> Response:
        limit = collector.config.max_body_bytes
        try:
            with collector.admission.enter() as ticket:
                body = await read_body(request, limit, ticket)
                inflated = decompress(body, request.headers.get("content-encoding"), limit)
                ticket.add(len(inflated) - len(body))
                result = await run_in_threadpool(
                    _ingest, collector, inflated, principal_of(request.scope).project
                )
        except BadRequest as exc:
            return json_error(exc.status, exc.message)
        except Overloaded as exc:
            response = json_error(503, str(exc))
            response.headers["Retry-After"] = str(exc.retry_after_s)
            return response
        except UnicodeError as exc:  # text no store can hold: retrying cannot help
            return json_error(400, f"body holds text that is not valid Unicode: {exc}")
        except Exception as exc:  # the collector answers every request; it never dies on one
            log.exception("storing a Langfuse ingestion batch failed")
            return json_error(503, f"could not store the batch: {type(exc).__name__}")
        return json_response(result.body(), status=207)

    return [
        Route("/api/public/scores", post_scores, methods=["POST"]),
        Route("/api/public/ingestion", post_ingestion, methods=["POST"]),
    ]


def _ingest(collector: Collector, body: bytes, project: str | None) -> IngestionResult:
    events, metadata = _batch(body)
    settings = IngestSettings(
        default_project=collector.config.default_project,
        project=project,
        prices=collector.prices,
        redaction=collector.config.redaction,
        resource_json=sdk_resource(metadata),
        screen_surrogates=may_hold_surrogates(body),
    )
    return ingest_batch(collector.store, events, settings)


def _batch(body: bytes) -> tuple[list[Any], Any]:
    """The events and metadata of an ingestion body; BadRequest (400) when it is no batch."""
    try:
        payload = json.loads(body)
    except RecursionError:
        raise BadRequest(400, f"body is nested too deeply; {BATCH_SHAPE}") from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(400, f"body is not valid JSON; {BATCH_SHAPE}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("batch"), list):
        raise BadRequest(400, BATCH_SHAPE)
    events: list[Any] = payload["batch"]
    if len(events) > MAX_EVENTS:
        raise BadRequest(400, f"a batch holds at most {MAX_EVENTS} events, not {len(events)}")
    return events, payload.get("metadata")
