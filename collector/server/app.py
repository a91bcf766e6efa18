"""The collector's ASGI application: OTLP/HTTP receiver plus the JSON read API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pyarrow as pa
from fastapi import APIRouter, FastAPI, Request
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ... import __version__
from ..api_errors import ApiError
from ..pricing import PriceTable
from ..redact import redact_table
from ..semconv import NormalizedBatch, normalize_request
from ..store import (
    GroupCommitWriter,
    QueryRejected,
    QueryResult,
    Store,
    StoreError,
    WriterOverloaded,
)
from ..store.api_keys import KeyRing
from .access import AccessMiddleware, principal_of
from .admin_api import admin_routes
from .admission import Admission, Overloaded
from .audit_api import audit_routes
from .config import CollectorConfig
from .decode import BadRequest, decode_traces, decompress, media_type, read_body
from .docs_page import docs_routes
from .errors import ApiRoute, body_schema, model_body
from .extensions import Extension
from .keys_api import key_routes
from .langfuse_api import langfuse_routes
from .logs_api import logs_routes
from .overview_api import overview_routes
from .responses import http_error, json_response, otlp_error, otlp_success
from .retention_task import RetentionTask
from .schemas import HealthReply, SqlRequest, SqlResult
from .traces_api import trace_routes
from .user_feedback_api import user_feedback_routes

log = logging.getLogger(__name__)

OTLP_TRACE_PATHS = ("/v1/traces", "/api/public/otel/v1/traces")
Lifespan = Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]


class Collector:
    """The collector's state: the store it owns, its writer thread and settings."""

    def __init__(
        self,
        config: CollectorConfig,
        store: Store | None = None,
        extensions: Sequence[Extension] = (),
    ) -> None:
        # A bad price file fails here, before the database is opened.
        self.prices = PriceTable.load(config.prices_path)
        self.config = config
        self.store = store if store is not None else Store(config.db_path)
        self.writer = GroupCommitWriter(self.store)
        self.admission = Admission(
            config.max_inflight_bytes, config.max_inflight_requests, config.target_drain_s
        )
        self.keys = KeyRing(self.store)
        self.extensions = list(extensions)
        self.retention = (
            RetentionTask(self.store, config.retention_days, config.retention_interval_s)
            if config.retention_days is not None
            else None
        )
        self.rejected_spans = 0
        self.warned_spans = 0

    def start(self) -> None:
        """Warm up the decode path, then start background work (the writer thread)."""
        # The first Arrow conversion imports pandas (about a second): pay it at start-up,
        # not on the first client's request.
        normalize_request(ExportTraceServiceRequest())
        self.writer.start()
        for extension in self.extensions:
            extension.start(self)
        if self.retention is not None:
            self.retention.start()

    def stop(self) -> None:
        """Stop retention and extensions, flush queued writes and close the database."""
        if self.retention is not None:
            self.retention.stop()
        for extension in reversed(self.extensions):
            try:
                extension.stop()
            except Exception:
                log.exception("extension %s failed to stop", extension.name)
        self.writer.close()
        self.store.close()


def api_app(title: str, summary: str, lifespan: Lifespan) -> FastAPI:
    """An empty collector app: the one error mapping, the API described, no CDN docs."""
    return FastAPI(
        title=title,
        version=__version__,
        summary=summary,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error},
        docs_url=None,  # served by docs_page.py, without a CDN
        redoc_url=None,
        # A path that matches nothing is a 404, never a redirect to a guessed neighbour
        # (``/api/datasets/%2F`` was redirected to ``/api/datasets/``).
        redirect_slashes=False,
    )


def create_app(
    config: CollectorConfig, store: Store | None = None, extensions: Sequence[Extension] = ()
) -> FastAPI:
    """Build the collector application; the database opens now and closes on shutdown.

    ``extensions`` add routes and background work (online evaluation, review queue, ...).
    The JSON API is described at ``/openapi.json`` and browsable at ``/docs``.
    """
    collector = Collector(config, store, extensions)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        collector.start()
        try:
            yield
        finally:
            await run_in_threadpool(collector.stop)

    app = api_app("loopwise collector", "OTLP receiver and JSON API of a loopwise store.", lifespan)
    receive = _receive_traces(collector)
    # The OTLP receiver stays a raw route: its body is protobuf or OTLP JSON, decoded by
    # decode.py at full speed, and it answers in OTLP's own error shape.
    otlp: list[BaseRoute] = [Route(path, receive, methods=["POST"]) for path in OTLP_TRACE_PATHS]
    app.router.routes.extend(otlp)
    app.router.routes.extend(docs_routes(app.title))
    for router in (
        _core_routes(collector),
        trace_routes(collector.store),
        user_feedback_routes(collector),
        key_routes(collector),
        admin_routes(collector),
        overview_routes(collector.store),
        audit_routes(collector),
    ):
        app.router.routes.extend(router.routes)  # flat: one route table, as access.py reads it
    app.router.routes.extend(logs_routes(collector) + langfuse_routes(collector))
    for extension in collector.extensions:
        app.router.routes.extend(extension.routes(collector))
    app.state.collector = collector
    app.add_middleware(
        AccessMiddleware, store=collector.store, keys=collector.keys, admin_key=config.api_key
    )
    return app


Handler = Callable[[Request], Awaitable[Response]]


def _receive_traces(collector: Collector) -> Handler:
    limit = collector.config.max_body_bytes

    async def receive(request: Request) -> Response:
        encoding: str | None = None
        try:
            encoding = media_type(request.headers.get("content-type"))
            with collector.admission.enter() as ticket:
                body = await read_body(request, limit, ticket)
                inflated = decompress(body, request.headers.get("content-encoding"), limit)
                ticket.add(len(inflated) - len(body))
                batch = await run_in_threadpool(
                    _decode_and_normalize, inflated, encoding, collector
                )
                table = _in_project(batch.table, principal_of(request.scope).project)
                future = collector.writer.submit(table)
                await asyncio.wrap_future(future)
        except BadRequest as exc:
            return otlp_error(encoding, exc.status, exc.message)
        except Overloaded as exc:
            return otlp_error(encoding, 503, str(exc), {"Retry-After": str(exc.retry_after_s)})
        except WriterOverloaded as exc:
            return otlp_error(encoding, 503, str(exc), {"Retry-After": "1"})
        except UnicodeError as exc:  # text no store can hold: retrying cannot help
            return otlp_error(encoding, 400, f"body holds text that is not valid Unicode: {exc}")
        except Exception as exc:  # the collector answers every input; it never dies on one
            log.exception("failed to store a trace request")
            return otlp_error(encoding, 503, f"could not store spans: {exc}", {"Retry-After": "5"})
        collector.rejected_spans += batch.rejected
        collector.warned_spans += batch.warned_spans
        return otlp_success(encoding, batch.rejected, batch.error_message)

    return receive


def _in_project(table: pa.Table, project: str | None) -> pa.Table:
    """Spans sent with a project key land in its project, whatever their resource claims."""
    if project is None or table.num_rows == 0:
        return table
    index = table.schema.get_field_index("project")
    return table.set_column(index, "project", pa.array([project] * table.num_rows, pa.string()))


def _decode_and_normalize(body: bytes, encoding: str, collector: Collector) -> NormalizedBatch:
    request = decode_traces(body, encoding)
    batch = normalize_request(
        request, default_project=collector.config.default_project, prices=collector.prices
    )
    batch.table = redact_table(batch.table, collector.config.redaction)  # before anything is stored
    return batch


def _core_routes(collector: Collector) -> APIRouter:
    router = APIRouter(route_class=ApiRoute)

    @router.get("/health", response_model=HealthReply, tags=["health"])
    async def health() -> Response:
        """The collector's state; needs no key."""
        return json_response(_health_payload(collector))

    router.routes.extend(
        sql_routes(
            lambda sql, project: collector.store.select(
                sql, timeout_s=collector.config.sql_timeout_s, project=project
            )
        ).routes
    )
    return router


def sql_routes(select: Callable[[str, str | None], QueryResult]) -> APIRouter:
    """``POST /api/sql`` over ``select(sql, project)``: one checked read-only statement on a
    read-only cursor (a project key's project, else None, scopes it)."""
    router = APIRouter(route_class=ApiRoute)

    @router.post(
        "/api/sql", response_model=SqlResult, tags=["sql"], openapi_extra=body_schema(SqlRequest)
    )
    async def post_sql(request: Request) -> Response:
        """One read-only statement on a read-only connection (a project key sees its rows)."""
        body = await model_body(request, SqlRequest)
        if not body.sql.strip():
            raise BadRequest(400, 'body must be JSON: {"sql": "SELECT ..."}')
        project = principal_of(request.scope).project
        try:
            result = await run_in_threadpool(select, body.sql, project)
        except (ApiError, QueryRejected, StoreError):
            raise  # the one mapping: a timeout is a 503, a refused or too large query a 400
        except Exception as exc:  # DuckDB binder/catalog/conversion errors: the query's fault
            text = str(exc).strip()
            raise BadRequest(400, text.splitlines()[0] if text else repr(exc)) from None
        return json_response(
            {
                "columns": result.columns,
                "rows": [list(r) for r in result.rows],
                "truncated": result.truncated,
            }
        )

    return router


def _health_payload(collector: Collector) -> dict[str, object]:
    return {
        "status": "ok",
        "version": __version__,
        "db_path": str(collector.config.db_path),
        "pending_rows": collector.writer.pending_rows,
        "inflight_requests": collector.admission.inflight_requests,
        "inflight_bytes": collector.admission.inflight_bytes,
        "inflight_budget_bytes": collector.admission.budget_bytes,
        "refused_overloaded": collector.admission.refused,
        "commits": collector.writer.commits,
        "rows_written": collector.writer.rows_written,
        "rejected_spans": collector.rejected_spans,
        "warned_spans": collector.warned_spans,
        "retention": collector.retention.status() if collector.retention else None,
    }
