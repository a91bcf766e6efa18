"""A batch of finished spans as an OTLP/protobuf export request, written as bytes directly.

The spooling exporter encodes every span while the collector is away, on a thread that
shares the interpreter lock with the application. The official encoder builds a protobuf
object for each span, attribute and value, and hashes every span's resource (a JSON dump of
its attributes) to group them; writing the same bytes here costs a fraction of that. The
result is the request the official encoder serializes, byte for byte (the tests compare the
two); a value this module does not know raises ``ValueError``/``TypeError`` and the caller
falls back to the official encoder.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext

_SMALL = [bytes((n,)) for n in range(0x80)]
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UINT64 = 2**64
_FIXED64 = struct.Struct("<Q").pack
_FIXED32 = struct.Struct("<I").pack
_DOUBLE = struct.Struct("<d").pack

# Span.SpanKind in the proto is the API's SpanKind value plus one (0 is UNSPECIFIED).
_KINDS = {0: 1, 1: 2, 2: 3, 3: 4, 4: 5}
_FLAGS_HAS_IS_REMOTE = 0x100
_FLAGS_IS_REMOTE = 0x200
_SPAN_FLAGS_TAG = b"\x85\x01"  # field 16, fixed32

_CACHE_LIMIT = 4096
_SHORT_VALUE = 64
_key_prefixes: dict[str, bytes] = {}
_short_pairs: dict[tuple[str, str], bytes] = {}


def _varint(n: int) -> bytes:
    if n < 0x80:
        return _SMALL[n]
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    return tag + _varint(len(payload)) + payload


def _key_prefix(key: str) -> bytes:
    prefix = _key_prefixes.get(key)
    if prefix is None:
        prefix = _field(b"\x0a", key.encode()) if key else b""
        if len(_key_prefixes) >= _CACHE_LIMIT:
            _key_prefixes.clear()
        _key_prefixes[key] = prefix
    return prefix


def _any_value(value: Any) -> bytes:
    """An AnyValue message, choosing the type in the official encoder's order."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return _field(b"\x0a", value.encode())
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"integer attribute {value} is out of the int64 range")
        return b"\x18" + _varint(value % _UINT64)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE(value)
    if isinstance(value, bytes):
        return _field(b"\x3a", value)
    if isinstance(value, Sequence):
        return _field(b"\x2a", b"".join([_field(b"\x0a", _any_value(v)) for v in value]))
    if isinstance(value, Mapping):
        pairs = [_field(b"\x0a", _key_value(str(k), v)) for k, v in value.items()]
        return _field(b"\x32", b"".join(pairs))
    raise TypeError(f"invalid attribute value type {type(value).__name__}")


def _key_value(key: str, value: Any) -> bytes:
    if type(value) is str and len(value) <= _SHORT_VALUE:
        pair = _short_pairs.get((key, value))
        if pair is None:
            pair = _key_prefix(key) + _field(b"\x12", _field(b"\x0a", value.encode()))
            if len(_short_pairs) >= _CACHE_LIMIT:
                _short_pairs.clear()
            _short_pairs[(key, value)] = pair
        return pair
    return _key_prefix(key) + _field(b"\x12", _any_value(value))


def _attributes(tag: bytes, attributes: Mapping[str, Any] | None) -> list[bytes]:
    if not attributes:
        return []
    return [_field(tag, _key_value(key, value)) for key, value in attributes.items()]


def _flags(context: SpanContext | None) -> int:
    if context and context.is_remote:
        return _FLAGS_HAS_IS_REMOTE | _FLAGS_IS_REMOTE
    return _FLAGS_HAS_IS_REMOTE


def _span(span: ReadableSpan) -> bytes:
    context = span.get_span_context()
    if context is None:
        raise ValueError("a span without a context")
    parts = [
        b"\x0a\x10",
        context.trace_id.to_bytes(16, "big"),
        b"\x12\x08",
        context.span_id.to_bytes(8, "big"),
    ]
    if context.trace_state is not None:
        state = ",".join([f"{key}={value}" for key, value in context.trace_state.items()])
        if state:
            parts.append(_field(b"\x1a", state.encode()))
    parent = span.parent
    if parent:
        parts += (b"\x22\x08", parent.span_id.to_bytes(8, "big"))
    if span.name:
        parts.append(_field(b"\x2a", span.name.encode()))
    parts += (b"\x30", _SMALL[_KINDS[span.kind.value]])
    if span.start_time:
        parts += (b"\x39", _FIXED64(span.start_time))
    if span.end_time:
        parts += (b"\x41", _FIXED64(span.end_time))
    parts += _attributes(b"\x4a", span.attributes)
    if span.dropped_attributes:
        parts += (b"\x50", _varint(span.dropped_attributes))
    for event in span.events:
        event_parts: list[bytes] = []
        if event.timestamp:
            event_parts += (b"\x09", _FIXED64(event.timestamp))
        if event.name:
            event_parts.append(_field(b"\x12", event.name.encode()))
        event_parts += _attributes(b"\x1a", event.attributes)
        if event.dropped_attributes:
            event_parts += (b"\x20", _varint(event.dropped_attributes))
        parts.append(_field(b"\x5a", b"".join(event_parts)))
    if span.dropped_events:
        parts += (b"\x60", _varint(span.dropped_events))
    for link in span.links:
        link_parts = [
            b"\x0a\x10",
            link.context.trace_id.to_bytes(16, "big"),
            b"\x12\x08",
            link.context.span_id.to_bytes(8, "big"),
            *_attributes(b"\x22", link.attributes),
        ]
        if link.dropped_attributes:
            link_parts += (b"\x28", _varint(link.dropped_attributes))
        link_parts += (b"\x35", _FIXED32(_flags(link.context)))
        parts.append(_field(b"\x6a", b"".join(link_parts)))
    if span.dropped_links:
        parts += (b"\x70", _varint(span.dropped_links))
    status = span.status
    if status is not None:
        status_parts: list[bytes] = []
        if status.description:
            status_parts.append(_field(b"\x12", status.description.encode()))
        if status.status_code.value:
            status_parts += (b"\x18", _varint(status.status_code.value))
        parts.append(_field(b"\x7a", b"".join(status_parts)))
    parts += (_SPAN_FLAGS_TAG, _FIXED32(_flags(parent)))
    return b"".join(parts)


def _scope(scope: InstrumentationScope | None) -> bytes:
    if scope is None:
        return b""
    parts = []
    if scope.name:
        parts.append(_field(b"\x0a", scope.name.encode()))
    if scope.version:
        parts.append(_field(b"\x12", scope.version.encode()))
    parts += _attributes(b"\x1a", scope.attributes)
    return b"".join(parts)


def _grouped(
    spans: Iterable[ReadableSpan],
) -> list[tuple[Resource, list[tuple[InstrumentationScope | None, list[bytes]]]]]:
    """Spans by resource, then by scope, in order of first appearance and merging equal
    resources and scopes, as the official encoder's dictionaries do; a batch nearly always
    shares one resource object, so identity is tried before equality."""
    groups: list[tuple[Resource, list[tuple[InstrumentationScope | None, list[bytes]]]]] = []
    by_identity: dict[int, list[tuple[InstrumentationScope | None, list[bytes]]]] = {}
    scopes_by_identity: dict[tuple[int, int], list[bytes]] = {}
    for span in spans:
        resource = span.resource
        scopes = by_identity.get(id(resource))
        if scopes is None:
            scopes = next((s for r, s in groups if r == resource), None)
            if scopes is None:
                scopes = []
                groups.append((resource, scopes))
            by_identity[id(resource)] = scopes
        scope = span.instrumentation_scope or None
        encoded = scopes_by_identity.get((id(scopes), id(scope)))
        if encoded is None:
            encoded = next((e for s, e in scopes if s == scope), None)
            if encoded is None:
                encoded = []
                scopes.append((scope, encoded))
            scopes_by_identity[(id(scopes), id(scope))] = encoded
        encoded.append(_span(span))
    return groups


def encode_request(spans: Sequence[ReadableSpan]) -> bytes:
    """The ExportTraceServiceRequest for ``spans``, serialized."""
    resource_spans = []
    for resource, scopes in _grouped(spans):
        parts = [_field(b"\x0a", b"".join(_attributes(b"\x0a", resource.attributes)))]
        for scope, encoded in scopes:
            scope_parts = [_field(b"\x0a", _scope(scope))]
            scope_parts += [_field(b"\x12", span) for span in encoded]
            if scope is not None and scope.schema_url:
                scope_parts.append(_field(b"\x1a", scope.schema_url.encode()))
            parts.append(_field(b"\x12", b"".join(scope_parts)))
        if resource.schema_url:
            parts.append(_field(b"\x1a", resource.schema_url.encode()))
        resource_spans.append(_field(b"\x0a", b"".join(parts)))
    return b"".join(resource_spans)
