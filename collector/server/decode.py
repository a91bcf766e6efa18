"""Decoding OTLP/HTTP trace request bodies (protobuf or JSON, gzip or not) with size limits."""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.requests import Request

from ..api_errors import ApiError
from ..semconv.values import holds_lone_surrogate

if TYPE_CHECKING:
    from .admission import Ticket

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


class BadRequest(ApiError):
    """The request cannot be accepted; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message, status=status)


def media_type(content_type: str | None) -> str:
    """The OTLP encoding named by a Content-Type header, or raise 415."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if base in (PROTOBUF, "application/protobuf"):
        return PROTOBUF
    if base == JSON:
        return JSON
    raise BadRequest(
        415, f"unsupported content type {base or '(none)'!r}: use {PROTOBUF} or {JSON}"
    )


def decompress(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """Undo gzip/deflate Content-Encoding, refusing anything that inflates past ``max_bytes``."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return body
    if encoding not in ("gzip", "deflate"):
        raise BadRequest(415, f"unsupported content encoding {encoding!r}: use gzip or none")
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise BadRequest(400, f"body is not valid {encoding}: {exc}") from None
    if len(data) > max_bytes:
        raise BadRequest(413, f"decompressed body exceeds the {max_bytes}-byte limit")
    if not inflater.eof:
        raise BadRequest(400, f"body is truncated {encoding} data")
    return data


def decode_traces(body: bytes, encoding: str) -> ExportTraceServiceRequest:
    """Parse an ExportTraceServiceRequest from protobuf bytes or OTLP/JSON text."""
    request = ExportTraceServiceRequest()
    return decode_otlp(body, encoding, request, "trace", "resourceSpans", _hex_ids_to_base64)


M = TypeVar("M", bound=Message)


def decode_otlp(
    body: bytes,
    encoding: str,
    request: M,
    what: str,
    root: str,
    hex_ids_to_base64: Callable[[dict[str, Any]], None],
) -> M:
    """Parse one OTLP request message (traces, logs) from protobuf bytes or OTLP/JSON text into
    ``request``. JSON is refused (400) when it is not an object with ``root``, holds a lone
    surrogate, or does not fit the message; ``hex_ids_to_base64`` rewrites its hex ids."""
    if encoding == PROTOBUF:
        try:
            request.ParseFromString(body)
        except (DecodeError, RuntimeError, ValueError) as exc:
            raise BadRequest(
                400, f"body is not a valid OTLP protobuf {what} request: {exc}"
            ) from None
        return request
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(400, f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest(400, "body is not valid OTLP/JSON: nested too deeply") from None
    if not isinstance(document, dict):
        raise BadRequest(400, f"OTLP/JSON body must be an object with {root}")
    if may_hold_surrogates(body) and holds_lone_surrogate(document):
        raise BadRequest(
            400, "body is not valid OTLP/JSON: a string holds a lone UTF-16 surrogate escape"
        )
    hex_ids_to_base64(document)
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise BadRequest(400, f"body is not a valid OTLP/JSON {what} request: {exc}") from None
    return request


async def read_body(request: Request, limit: int, ticket: Ticket | None = None) -> bytes:
    """The request body, refused (413) past ``limit`` bytes before it is all read, and counted
    against the in-flight budget as it arrives when a ``ticket`` is given (a declared
    Content-Length is reserved before the first byte is read)."""
    declared = request.headers.get("content-length")
    reserved = 0
    if declared and declared.isdigit():
        if int(declared) > limit:
            raise BadRequest(413, f"body of {declared} bytes exceeds the {limit}-byte limit")
        reserved = int(declared)
        if ticket is not None:
            ticket.add(reserved)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(413, f"body exceeds the {limit}-byte limit")
        if ticket is not None and size > reserved:
            ticket.add(size - reserved)
            reserved = size
        chunks.append(chunk)
    return b"".join(chunks)


def may_hold_surrogates(body: bytes) -> bool:
    """Cheap pre-check: a lone surrogate in parsed JSON can only come from a ``\\uD8xx``-style
    escape (raw UTF-8 cannot encode one), so most bodies skip the walk."""
    return b"\\ud" in body or b"\\uD" in body


_INVALID_ID = base64.b64encode(b"\xff").decode()
_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def _hex_ids_to_base64(document: dict[str, Any]) -> None:
    """OTLP/JSON writes ids as hex where protobuf's JSON mapping expects base64: convert them.

    An id that is not hex (or an odd number of digits) becomes a one-byte id, so the span is
    rejected on its own later exactly as the same span in protobuf is (wrong length). An empty
    ``parentSpanId`` stays empty: it means the span is a root.
    """
    for resource_spans in json_list(document, "resourceSpans", "resource_spans"):
        for scope_spans in json_list(resource_spans, "scopeSpans", "scope_spans"):
            for span in json_list(scope_spans, "spans"):
                if not isinstance(span, dict):
                    continue
                convert_ids(span, _ID_FIELDS)
                for link in json_list(span, "links"):
                    if isinstance(link, dict):
                        convert_ids(link, _ID_FIELDS)


_HEX_DIGITS = re.compile(r"(?:[0-9a-fA-F]{2})*")


def convert_ids(obj: dict[str, Any], fields: tuple[str, ...]) -> None:
    """Rewrite the hex ids in ``fields`` of one OTLP/JSON object as base64 (a one-byte id,
    rejected later, when a value is not plain hex digits)."""
    for key in fields:
        value = obj.get(key)
        if isinstance(value, str):
            # Only plain hex digits: bytes.fromhex also skips whitespace, which would let
            # "01 02 ..." through as an id no protobuf client can send.
            if _HEX_DIGITS.fullmatch(value):
                obj[key] = base64.b64encode(bytes.fromhex(value)).decode()
            else:
                obj[key] = _INVALID_ID


def json_list(obj: Any, *keys: str) -> list[Any]:
    """The first of ``keys`` holding a list in the JSON object ``obj`` ([] otherwise)."""
    if not isinstance(obj, dict):
        return []
    for key in keys:
        value = obj.get(key)
        if isinstance(value, list):
            return value
    return []
