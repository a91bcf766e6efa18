"""The ingest role on a DuckLake store: OTLP/HTTP traces in, committed to the lake, acked.

Several of these run at once against one lake (behind a load balancer or an OpenTelemetry
Collector). Each request is decoded, normalized and redacted exactly as in the file
collector, then group-committed; the 200 is sent only after the lake transaction holding
its spans has committed. The JSON read API is served by the file collector only; read a
lake with ``loopwise sql --store ducklake:...`` or any DuckDB/Parquet reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..pricing import PriceTable
from ..redact import redact_table
from ..semconv import NormalizedBatch, normalize_request
from ..store.backend import LakeBackend
from ..store.lake_store import LakeStore
from ..store.writer import GroupCommitWriter, WriterOverloaded
from .app import OTLP_TRACE_PATHS
from .config import CollectorConfig
from .decode import BadRequest, decode_traces, decompress, media_type, read_body
from .responses import otlp_error, otlp_success
from .run import GIL_SWITCH_INTERVAL_S, _bind

log = logging.getLogger(__name__)


class LakeCollector:
    """The lake ingest role's state: its lake connection, writer thread and settings."""

    def __init__(self, config: CollectorConfig, backend: LakeBackend) -> None:
        self.config = config
        self.prices = PriceTable.load(config.prices_path)
        self.store = LakeStore(backend)
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


def create_lake_app(collector: LakeCollector) -> Starlette:
    """The ingest-only ASGI app: POST OTLP traces, GET /health."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        collector.writer.start()
        try:
            yield
        finally:
            collector.writer.close()
            collector.store.close()

    routes = [Route(path, _receive(collector), methods=["POST"]) for path in OTLP_TRACE_PATHS]
    routes.append(Route("/health", _health(collector), methods=["GET"]))
    return Starlette(routes=routes, lifespan=lifespan)


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
        return JSONResponse(
            {
                "status": "ok",
                "store": "ducklake",
                "pending_rows": collector.writer.pending_rows,
                "commits": collector.writer.commits,
                "rows_written": collector.writer.rows_written,
                "rejected_spans": collector.rejected_spans,
            }
        )

    return health


def serve_lake(config: CollectorConfig, backend: LakeBackend) -> None:
    """Run the lake ingest role in the foreground until interrupted."""
    config.check()
    sock = _bind(config.host, config.port)
    app = create_lake_app(LakeCollector(config, backend))
    uv_config = uvicorn.Config(
        app, log_level="warning", access_log=False, timeout_graceful_shutdown=10, lifespan="on"
    )
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    uvicorn.Server(uv_config).run(sockets=[sock])
