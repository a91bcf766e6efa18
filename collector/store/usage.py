"""Counting each model call's tokens and cost once in a trace's totals.

Some clients report usage twice: the Vercel AI SDK's ``ai.generateText`` span carries the
sum of its ``ai.generateText.doGenerate`` children, pydantic-ai's agent run span the sum of
its model calls, a wrapper around a client call the same numbers as the call. Adding every
span's usage would count those calls twice. The rule, one for every total (the ``traces``
summary, sessions, users, the Overview, the trace view):

    A span's ``total_tokens`` count toward a total unless one of its child spans in the
    same trace reports ``total_tokens`` too; likewise ``cost_usd`` (and, for the Overview's
    input/output split, ``input_tokens`` and ``output_tokens``), each field on its own.

A span marked as a duplicate of another instrumentation's record of the same call
(``metadata.duplicate_of``, see ``duplicates.py``) counts toward no total and supersedes no
parent: the call is counted once, on its first record.

The parent keeps its own numbers on its row (the span is stored as sent); only the sums
skip it. The rule looks at direct children, which is how the clients above nest their
spans; a parent whose usage sits on grandchildren with no usage in between is still added.

The ``traces`` table keeps, per trace, the spans that report usage (``usage_spans``: span
id, parent id, tokens, cost) so the rule stays exact when a trace's spans arrive in
several batches: folding two fragments concatenates their lists, and the totals are
recomputed from the folded list with ``counted_sql``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

USAGE_FIELDS = ("total_tokens", "cost_usd")
USAGE_SPAN_TYPE = pa.struct(
    [
        ("span_id", pa.string()),
        ("parent_span_id", pa.string()),
        ("total_tokens", pa.int64()),
        ("cost_usd", pa.float64()),
    ]
)
USAGE_SPANS_ARROW = pa.list_(USAGE_SPAN_TYPE)
USAGE_SPANS_SQL = (
    "STRUCT(span_id VARCHAR, parent_span_id VARCHAR, total_tokens BIGINT, cost_usd DOUBLE)[]"
)
_CASTS = {"total_tokens": "BIGINT", "cost_usd": "DOUBLE"}
DUPLICATE_KEY = "duplicate_of"


def duplicate_sql(spans: str = "") -> str:
    """SQL true for a span row marked as a duplicate record of another span's call
    (``spans``: the table alias, or none)."""
    column = f"{spans}.metadata" if spans else "metadata"
    return f"coalesce(json_extract_string({column}, '$.{DUPLICATE_KEY}') IS NOT NULL, false)"


def counted_sql(column: str, field: str) -> str:
    """SQL summing ``field`` over the entries of the usage list ``column`` that no other
    entry names as its parent while reporting ``field`` (NULL when none reports it)."""
    if field not in _CASTS:
        raise ValueError(f"no usage field {field!r}; one of {', '.join(USAGE_FIELDS)}")
    reporting = f"list_filter({column}, lambda y: y.{field} IS NOT NULL)"
    parents = f"list_transform({reporting}, lambda y: y.parent_span_id)"
    kept = (
        f"list_filter({column}, lambda x: x.{field} IS NOT NULL "
        f"AND NOT list_contains({parents}, x.span_id))"
    )
    return f"list_sum(list_transform({kept}, lambda x: x.{field}))::{_CASTS[field]}"


def usage_entry_sql() -> str:
    """SQL building one ``usage_spans`` entry from a ``spans`` row."""
    return (
        "struct_pack(span_id := span_id, parent_span_id := parent_span_id, "
        "total_tokens := total_tokens, cost_usd := cost_usd)"
    )


def superseded_sql(spans: str, field: str, where: str) -> str:
    """SQL true for a row of ``spans`` whose ``field`` a child span (rows of ``spans``
    matching ``where``) reports as well: the row is a sum of its children for that field."""
    return (
        f"EXISTS (SELECT 1 FROM spans AS child WHERE {where} "
        f"AND child.trace_id = {spans}.trace_id AND child.parent_span_id = {spans}.span_id "
        f"AND child.{field} IS NOT NULL AND NOT {duplicate_sql('child')})"
    )


def counted_usage(
    spans: Iterable[Mapping[str, Any]], fields: Iterable[str] = USAGE_FIELDS
) -> dict[str, float | int | None]:
    """Per field, the sum over ``spans`` (one trace's span records) by the rule above;
    None for a field no span reports."""
    rows = [row for row in spans if not is_duplicate(row)]
    totals: dict[str, float | int | None] = {}
    for field in fields:
        reporting = [row for row in rows if _number(row.get(field))]
        parents = {row.get("parent_span_id") for row in reporting}
        kept = [row[field] for row in reporting if row.get("span_id") not in parents]
        if not kept:
            totals[field] = None
        elif all(isinstance(v, int) for v in kept):
            totals[field] = sum(int(v) for v in kept)
        else:
            totals[field] = math.fsum(float(v) for v in kept)
    return totals


def is_duplicate(span: Mapping[str, Any]) -> bool:
    """Whether a span record (metadata as a dict or a JSON string) is marked as another
    span's duplicate."""
    metadata = span.get("metadata")
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return False
    return isinstance(metadata, dict) and metadata.get(DUPLICATE_KEY) is not None


def _number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )
