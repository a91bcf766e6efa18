"""Encoding OTLP responses and JSON API payloads."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from typing import Any

from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.requests import Request
from starlette.responses import Response

from .decode import JSON, PROTOBUF


def otlp_success(encoding: str, rejected: int = 0, message: str = "") -> Response:
    """200 with an ExportTraceServiceResponse, carrying partial_success when spans were rejected."""
    reply = ExportTraceServiceResponse()
    if rejected or message:
        reply.partial_success.rejected_spans = rejected
        reply.partial_success.error_message = message
    return _encode(reply, encoding, 200)


def otlp_error(
    encoding: str | None, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    """An error answered with a google.rpc.Status body, as the OTLP specification asks."""
    body = Status(code=_GRPC_CODES.get(status, 2), message=safe_text(message))
    return _encode(body, encoding or JSON, status, headers)


_GRPC_CODES = {400: 3, 401: 16, 413: 8, 415: 3, 429: 8, 503: 14}


def safe_text(message: str) -> str:
    """``message`` with anything UTF-8 cannot encode (lone surrogates) written as escapes.

    Error messages quote the client's input; an unencodable character there once made building
    the error reply itself fail (a 500 that also reset the keep-alive connection).
    """
    return message.encode("utf-8", "backslashreplace").decode("utf-8")


def _encode(
    message: Any, encoding: str, status: int, headers: dict[str, str] | None = None
) -> Response:
    if encoding == PROTOBUF:
        return Response(message.SerializeToString(), status, headers, media_type=PROTOBUF)
    text = json_format.MessageToJson(message, indent=None)
    return Response(text, status, headers, media_type=JSON)


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, uuid.UUID | bytes):
        return value.hex() if isinstance(value, bytes) else str(value)
    return str(value)


class BadJson(ValueError):
    """A request body that is not JSON this server can take (the message says why)."""


def loads_body(raw: bytes | str) -> Any:
    """A request body parsed as JSON; BadJson (a ValueError) when it is not JSON, is not
    UTF-8, or is nested past what the parser can take (``json.loads`` raises RecursionError
    there, which once escaped as a 500 from every route that reads a JSON body)."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise BadJson("body is nested too deeply") from None
    except ValueError as exc:  # includes UnicodeDecodeError
        raise BadJson(f"body is not valid JSON: {exc}") from None


def json_response(payload: Any, status: int = 200) -> Response:
    """A JSON response that also serializes timestamps, decimals and bytes (NaN becomes null)."""
    try:
        text = json.dumps(payload, default=_default, ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_without_nan(payload), default=_default, ensure_ascii=False)
    # Inside a JSON string a backslash escape of a lone surrogate is still valid JSON.
    return Response(text.encode("utf-8", "backslashreplace"), status, media_type=JSON)


def _without_nan(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _without_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nan(v) for v in value]
    return value


def json_error(status: int, message: str) -> Response:
    """``{"error": message}`` with the given status."""
    return Response(json.dumps({"error": safe_text(message)}), status, media_type=JSON)


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own HTTP errors (an unknown path, a wrong method) as ``{"error": ...}``."""
    status = getattr(exc, "status_code", 500)
    if status == 404:
        message = f"no such endpoint: {request.method} {request.url.path}"
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(getattr(exc, "detail", "") or "error")
    response = json_error(status, message)
    response.headers.update(getattr(exc, "headers", None) or {})
    return response
