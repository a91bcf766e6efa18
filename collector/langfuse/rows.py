"""A span's merged Langfuse attributes as a normalized span row.

The row is built by ``semconv.normalize.span_row``, the OTLP decoder's own builder, so a
Langfuse v2 generation reads like a v3 one sent over OTLP: kind, model, tokens, cost (the
price table's when none was sent), input and output (messages when they hold them),
session, user, tags and metadata all come from the attributes. What OTLP carries outside
attributes is read from ``langfuse.ingestion.*``:

- an observation starts at its ``startTime`` (else when it was first seen) and ends at its
  ``endTime`` (else when it starts); its parent is its ``parentObservationId``'s span, or
  the trace's root span; level ``ERROR`` is status ``error`` with the ``statusMessage``;
- the root span (the trace) is named by the trace's ``name`` (else ``trace``), starts at the
  trace's ``timestamp`` or its first observation, whichever is earlier, and ends when its
  last observation does; its kind is ``chain`` (as a v3 SDK's root span).
"""

from __future__ import annotations

from typing import Any

from ..pricing import PriceTable
from ..semconv.normalize import span_row
from .ids import observation_hex, root_span_hex
from .patches import (
    CHILDREN_END,
    CHILDREN_START,
    END,
    FIRST_SEEN,
    LEVEL,
    NAME,
    PARENT_ID,
    ROOT,
    START,
    STATUS_MESSAGE,
    TRACE_NAME,
    TYPE,
    epoch_us,
)

ROOT_NAME = "trace"
ROOT_KIND = "chain"


def langfuse_row(
    state: dict[str, Any],
    *,
    project: str,
    trace_id: str,
    span_id: str,
    resource_json: str,
    ingested_at: int,
    prices: PriceTable,
) -> tuple[tuple[Any, ...], list[str]]:
    """The row (``normalize.ROW_COLUMNS`` order) of the span holding ``state``, and its
    normalization warnings."""
    if state.get(ROOT) is True:
        start = _root_start(state)
        end = max(_us(state.get(CHILDREN_END)) or start, start)
        name = _text(state.get(TRACE_NAME)) or ROOT_NAME
        parent = None
        status, message, kind = "unset", "", ROOT_KIND
    else:
        start = _us(state.get(START)) or _us(state.get(FIRST_SEEN)) or 0
        end = _us(state.get(END)) or start
        name = _text(state.get(NAME)) or _text(state.get(TYPE)) or "observation"
        parent = _parent(state, trace_id, span_id)
        error = state.get(LEVEL) == "ERROR"
        status = "error" if error else "unset"
        message = (_text(state.get(STATUS_MESSAGE)) or "") if error else ""
        kind = None
    return span_row(
        project=project,
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        status=status,
        status_message=message,
        start_ns=start * 1000,
        end_ns=end * 1000,
        service_name=None,
        resource_json=resource_json,
        ingested_at=ingested_at,
        attrs=state,
        events=[],
        prices=prices,
        kind=kind,
    )


def _root_start(state: dict[str, Any]) -> int:
    sent = _us(state.get(START))
    children = _us(state.get(CHILDREN_START))
    if sent is not None:
        return min(sent, children) if children is not None else sent
    candidates = [v for v in (children, _us(state.get(FIRST_SEEN))) if v is not None]
    return min(candidates) if candidates else 0


def _parent(state: dict[str, Any], trace_id: str, span_id: str) -> str:
    parent_id = _text(state.get(PARENT_ID))
    if parent_id:
        parent = observation_hex(parent_id)
        if parent != span_id:  # a span that names itself hangs under the trace
            return parent
    return root_span_hex(trace_id)


def _us(value: Any) -> int | None:
    """A stored time (a ``patches.stamp``) as µs since the epoch."""
    return epoch_us(value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
