"""The collector on a DuckLake store: OTLP/HTTP traces in, committed to the lake, acked;
and the lake's read API.

Several of these run at once against one lake (behind a load balancer or an OpenTelemetry
Collector). Each request is decoded, normalized and redacted exactly as in the file
collector, then group-committed; the 200 is sent only after the lake transaction holding
its spans has committed.

Reads are the file collector's own routes over the lake (each query on the latest
snapshot): traces, sessions, users, a trace's spans, tree, scores and root cause, the
Overview's series, facets and root causes, and ``POST /api/sql`` with the same checks and
limits. So the dashboard's Overview, Traces and Sessions pages work on a lake; routes that
write (reviews, datasets, prompts, keys) are not served here and answer 404. Only the
instance admin key (``--api-key``) is accepted: project keys live in a file store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import uvicorn
from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ... import __version__
from ..pricing import PriceTable
from ..redact import redact_table
from ..semconv import NormalizedBatch, normalize_request
from ..store import QuerySource
from ..store.backend import LakeBackend
from ..store.lake_store import LakeStore
from ..store.lake_tables import ensure_lake_tables
from ..store.writer import GroupCommitWriter, WriterOverloaded
from .access import AccessMiddleware
from .app import OTLP_TRACE_PATHS, api_app, sql_routes
from .config import CollectorConfig
from .decode import BadRequest, decode_traces, decompress, media_type, read_body
from .docs_page import docs_routes
from .keys_api import whoami_routes
from .overview_api import overview_routes
from .responses import json_response, otlp_error, otlp_success
from .run import GIL_SWITCH_INTERVAL_S, _bind
from .traces_api import trace_routes

log = logging.getLogger(__name__)

READ_TABLES = ("scores", "flags", "flag_clusterings", "flag_clusters")


class LakeCollector:
    """The lake ingest role's state: its lake connection, writer thread and settings."""

    def __init__(self, config: CollectorConfig, backend: LakeBackend) -> None:
        self.config = config
        self.prices = PriceTable.load(config.prices_path)
        self.store = LakeStore(backend)
        # Read routes join these; the worker fills scores and flags, and may not have run yet.
        cur = self.store.cursor()
        try:
            ensure_lake_tables(cur, READ_TABLES)
        finally:
            cur.close()
        self.writer = GroupCommitWriter(self.store)
        self.rejected_spans = 0

    def normalize(self, body: bytes, encoding: str) -> NormalizedBatch:
        """Decode, normalize and redact one request body."""
        batch = normalize_request(
            decode_traces(body, encoding),
            default_project=self.config.default_project,
            prices=self.prices,
        )
        batch.table = redact_table(batch.table, self.config.redaction)
        return batch


ReadRoutes = Callable[[QuerySource], APIRouter]
"""Routes a layer above the collector adds over the lake (the evals package's flag and score
reads): given the store, they return a router."""


def create_lake_app(collector: LakeCollector, extra_routes: Sequence[ReadRoutes] = ()) -> FastAPI:
    """The lake collector's ASGI app: POST OTLP traces, the read API (plus ``extra_routes``),
    GET /health."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        collector.writer.start()
        try:
            yield
        finally:
            collector.writer.close()
            collector.store.close()

    app = api_app(
        "loopwise lake collector",
        "OTLP receiver and read API of a loopwise DuckLake store.",
        lifespan,
    )
    app.router.routes.extend(
        Route(path, _receive(collector), methods=["POST"]) for path in OTLP_TRACE_PATHS
    )
    app.router.routes.append(Route("/health", _health(collector), methods=["GET"]))
    app.router.routes.extend(docs_routes(app.title))
    store, timeout_s = collector.store, collector.config.sql_timeout_s
    for router in (
        whoami_routes(),
        trace_routes(store),
        overview_routes(store),
        sql_routes(lambda sql, _project: store.select(sql, timeout_s=timeout_s)),
        *(build(store) for build in extra_routes),
    ):
        app.router.routes.extend(router.routes)
    app.add_middleware(AccessMiddleware, store=None, keys=None, admin_key=collector.config.api_key)
    return app


Handler = Callable[[Request], Awaitable[Response]]


def _receive(collector: LakeCollector) -> Handler:
    limit = collector.config.max_body_bytes

    async def receive(request: Request) -> Response:
        encoding: str | None = None
        try:
            encoding = media_type(request.headers.get("content-type"))
            body = await read_body(request, limit)
            inflated = decompress(body, request.headers.get("content-encoding"), limit)
            batch = await run_in_threadpool(collector.normalize, inflated, encoding)
            await asyncio.wrap_future(collector.writer.submit(batch.table))
        except BadRequest as exc:
            return otlp_error(encoding, exc.status, exc.message)
        except WriterOverloaded as exc:
            return otlp_error(encoding, 503, str(exc), {"Retry-After": "1"})
        except UnicodeError as exc:
            return otlp_error(encoding, 400, f"body holds text that is not valid Unicode: {exc}")
        except Exception as exc:  # answer every input; retryable unless shown otherwise
            log.exception("failed to store a trace request in the lake")
            return otlp_error(encoding, 503, f"could not store spans: {exc}", {"Retry-After": "5"})
        collector.rejected_spans += batch.rejected
        return otlp_success(encoding, batch.rejected, batch.error_message)

    return receive


def _health(collector: LakeCollector) -> Handler:
    async def health(_: Request) -> Response:
        return json_response(
            {
                "status": "ok",
                "version": __version__,
                "store": "ducklake",
                "pending_rows": collector.writer.pending_rows,
                "commits": collector.writer.commits,
                "rows_written": collector.writer.rows_written,
                "rejected_spans": collector.rejected_spans,
            }
        )

    return health


def serve_lake(
    config: CollectorConfig, backend: LakeBackend, extra_routes: Sequence[ReadRoutes] = ()
) -> None:
    """Run the lake collector in the foreground until interrupted."""
    config.check()
    sock = _bind(config.host, config.port)
    app = create_lake_app(LakeCollector(config, backend), extra_routes)
    uv_config = uvicorn.Config(
        app, log_level="warning", access_log=False, timeout_graceful_shutdown=10, lifespan="on"
    )
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    uvicorn.Server(uv_config).run(sockets=[sock])
