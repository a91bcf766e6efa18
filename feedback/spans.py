"""Reading the spans that feedback is about: checking ids, finding a span or a trace's root,
and the prompt a span was rendered from (its raw ``loopwise.prompt.*`` attributes)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from loopwise.collector.sdk import PROMPT_NAME, PROMPT_VARIABLES, PROMPT_VERSION
from loopwise.collector.store import Store

from .common import from_json
from .errors import FeedbackError, NotFound

HEX32 = re.compile(r"[0-9a-f]{32}")
HEX16 = re.compile(r"[0-9a-f]{16}")


def attribute_sql(key: str, table: str = "") -> str:
    """SQL reading the raw span attribute ``key`` as text (``table``: an alias and a dot)."""
    return f"json_extract_string({table}attributes, '$.\"{key}\"')"


def prompt_columns_sql(table: str = "") -> str:
    """SQL columns prompt_name, prompt_version and prompt_variables of a span."""
    return (
        f"{attribute_sql(PROMPT_NAME, table)} AS prompt_name, "
        f"TRY_CAST({attribute_sql(PROMPT_VERSION, table)} AS INTEGER) AS prompt_version, "
        f"{attribute_sql(PROMPT_VARIABLES, table)} AS prompt_variables"
    )


SPAN_SQL = f"""
SELECT project, trace_id, span_id, parent_span_id, name, kind, input, output, metadata,
       {prompt_columns_sql()}
FROM spans
WHERE trace_id = $trace_id
  AND (CAST($span_id AS VARCHAR) IS NULL OR span_id = CAST($span_id AS VARCHAR))
ORDER BY parent_span_id IS NULL DESC, start_time, span_id
LIMIT 1
"""


@dataclass(frozen=True)
class SpanRef:
    """The parts of a stored span that feedback uses."""

    project: str
    trace_id: str
    span_id: str
    name: str
    kind: str
    input: str | None
    output: str | None
    metadata: dict[str, Any]
    prompt_name: str | None
    prompt_version: int | None
    prompt_variables: dict[str, Any] | None


def check_trace_id(value: Any) -> str:
    """A trace id as 32 lower-case hex characters; else a clear error."""
    if not isinstance(value, str) or not HEX32.fullmatch(value.lower()):
        raise FeedbackError(f"trace_id must be 32 hex characters, got {value!r}")
    return value.lower()


def check_span_id(value: Any) -> str | None:
    """None or a span id as 16 lower-case hex characters; else a clear error."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not HEX16.fullmatch(value.lower()):
        raise FeedbackError(f"span_id must be 16 hex characters, got {value!r}")
    return value.lower()


def find_span(store: Store, trace_id: str, span_id: str | None) -> SpanRef | None:
    """The span, or with ``span_id`` None the trace's root span; None when not stored."""
    rows = store.query(SPAN_SQL, {"trace_id": trace_id, "span_id": span_id}).records()
    if not rows:
        return None
    row = rows[0]
    metadata = from_json(row["metadata"], {})
    variables = from_json(row["prompt_variables"])
    return SpanRef(
        project=row["project"],
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        name=row["name"],
        kind=row["kind"],
        input=row["input"],
        output=row["output"],
        metadata=metadata if isinstance(metadata, dict) else {"value": metadata},
        prompt_name=row["prompt_name"],
        prompt_version=row["prompt_version"],
        prompt_variables=variables if isinstance(variables, dict) else None,
    )


def require_span(store: Store, trace_id: Any, span_id: Any) -> SpanRef:
    """The stored span (or the trace's root when ``span_id`` is empty); NotFound if absent."""
    trace = check_trace_id(trace_id)
    span = check_span_id(span_id)
    found = find_span(store, trace, span)
    if found is None:
        what = f"span {span} in trace {trace}" if span else f"trace {trace}"
        raise NotFound(f"no {what} is stored: corrections and reviews need a real span")
    return found
