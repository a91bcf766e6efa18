"""``POST /v1/logs``: the OTLP/HTTP logs receiver.

The same rules as ``/v1/traces``: protobuf or JSON (answered in the same encoding), gzip or
deflate, the body limit (413), 415 for other types, 400 for bad data, 503 with Retry-After
when the rows could not be stored, 200 only after they are committed, records with bad ids
reported in ``partial_success``, a resent request changing nothing. Rows go to the ``logs``
table; GenAI content events also fill their span's input and output (collector/store/
log_content.py).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..semconv.logs import LogBatch, normalize_logs
from .access import principal_of
from .admission import Overloaded
from .decode import (
    JSON,
    PROTOBUF,
    BadRequest,
    convert_ids,
    decode_otlp,
    decompress,
    json_list,
    media_type,
    read_body,
)
from .responses import otlp_error

if TYPE_CHECKING:
    from .app import Collector

log = logging.getLogger(__name__)

OTLP_LOG_PATHS = ("/v1/logs",)


def logs_routes(collector: Collector) -> list[Route]:
    """The OTLP logs receiver's routes."""
    receive = _receive_logs(collector)
    return [Route(path, receive, methods=["POST"]) for path in OTLP_LOG_PATHS]


def _receive_logs(collector: Collector) -> Any:
    limit = collector.config.max_body_bytes

    async def receive(request: Request) -> Response:
        encoding: str | None = None
        try:
            encoding = media_type(request.headers.get("content-type"))
            with collector.admission.enter() as ticket:
                body = await read_body(request, limit, ticket)
                body = decompress(body, request.headers.get("content-encoding"), limit)
                project = principal_of(request.scope).project
                batch = await run_in_threadpool(
                    _decode_and_store, body, encoding, collector, project
                )
        except BadRequest as exc:
            return otlp_error(encoding, exc.status, exc.message)
        except Overloaded as exc:
            return otlp_error(encoding, 503, str(exc), {"Retry-After": str(exc.retry_after_s)})
        except Exception as exc:  # the collector answers every input; it never dies on one
            log.exception("failed to store a logs request")
            return otlp_error(encoding, 503, f"could not store logs: {exc}", {"Retry-After": "5"})
        return logs_success(encoding, batch.rejected, batch.error_message)

    return receive


def _decode_and_store(
    body: bytes, encoding: str, collector: Collector, project: str | None = None
) -> LogBatch:
    request = decode_logs(body, encoding)
    batch = normalize_logs(request, default_project=collector.config.default_project)
    table = batch.table
    if project is not None and table.num_rows:  # a project key's logs land in its project
        index = table.schema.get_field_index("project")
        table = table.set_column(index, "project", pa.array([project] * table.num_rows))
    collector.store.append_logs(table)
    return batch


def logs_success(encoding: str, rejected: int = 0, message: str = "") -> Response:
    """200 with an ExportLogsServiceResponse (partial_success when records were rejected)."""
    reply = ExportLogsServiceResponse()
    if rejected or message:
        reply.partial_success.rejected_log_records = rejected
        reply.partial_success.error_message = message
    if encoding == PROTOBUF:
        return Response(reply.SerializeToString(), 200, media_type=PROTOBUF)
    return Response(json_format.MessageToJson(reply, indent=None), 200, media_type=JSON)


def decode_logs(body: bytes, encoding: str) -> ExportLogsServiceRequest:
    """Parse an ExportLogsServiceRequest from protobuf bytes or OTLP/JSON text."""
    request = ExportLogsServiceRequest()
    return decode_otlp(body, encoding, request, "logs", "resourceLogs", _hex_ids_to_base64)


_LOG_ID_FIELDS = ("traceId", "spanId", "trace_id", "span_id")


def _hex_ids_to_base64(document: dict[str, Any]) -> None:
    """OTLP/JSON writes ids as hex where protobuf's JSON mapping expects base64."""
    for resource_logs in json_list(document, "resourceLogs", "resource_logs"):
        for scope_logs in json_list(resource_logs, "scopeLogs", "scope_logs"):
            for record in json_list(scope_logs, "logRecords", "log_records"):
                if isinstance(record, dict):
                    convert_ids(record, _LOG_ID_FIELDS)
