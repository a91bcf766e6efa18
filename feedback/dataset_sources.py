"""Examples made from stored spans and from corrections.

A span becomes an example whose input is the prompt variables the span recorded
(``loopwise.prompt.variables``) when it has them, else its input (a JSON object or array
stored as text is decoded: see ``structured_input``); the expected output
is the span's output, or for a correction the corrected output. The metadata says where the
example came from (span name, prompt name and version, the span's own metadata, and for
corrections the reason and the original output).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from loopwise.collector.store import QueryRejected, Store, check_single_select

from .common import from_json
from .corrections import list_corrections
from .dataset_model import Example
from .errors import FeedbackError, NotFound
from .spans import prompt_columns_sql

MAX_SPAN_EXAMPLES = 10_000
SPAN_COLUMNS_SQL = f"""
SELECT trace_id, span_id, name AS span_name, input, output, metadata AS span_metadata,
       {prompt_columns_sql()}
FROM spans
"""


def span_query(where: str, limit: int = 1000) -> str:
    """The SELECT behind ``examples_from_spans``: spans matching the SQL condition ``where``,
    oldest first."""
    if not isinstance(where, str) or not where.strip():
        raise FeedbackError("a span condition is required, e.g. name = 'draft_reply'")
    if not 1 <= limit <= MAX_SPAN_EXAMPLES:
        raise FeedbackError(f"limit must be between 1 and {MAX_SPAN_EXAMPLES}")
    return f"{SPAN_COLUMNS_SQL} WHERE ({where}) ORDER BY start_time, span_id LIMIT {limit}"


def examples_from_spans(store: Store, where: str, *, limit: int = 1000) -> list[Example]:
    """One example per span matching ``where`` (a condition on the ``spans`` table), its
    output as the expected output. The condition runs as one read-only SELECT."""
    rows = _select(store, span_query(where, limit))
    if not rows:
        raise NotFound(f"no spans match {where!r}")
    return [_span_example(row, row.get("output")) for row in rows]


def examples_from_sql(store: Store, sql: str) -> list[Example]:
    """One example per row of a read-only SELECT with columns ``input`` and optionally
    ``expected`` (or ``output``), ``metadata``, ``trace_id``, ``span_id``; other columns go
    into the metadata."""
    rows = _select(store, sql)
    if not rows:
        raise NotFound("the query returned no rows")
    if "input" not in rows[0]:
        raise FeedbackError("the query must return an input column")
    examples = []
    for row in rows:
        metadata = from_json(row.pop("metadata", None), None) if "metadata" in row else None
        extra = {
            key: value
            for key, value in row.items()
            if key not in ("input", "expected", "output", "trace_id", "span_id")
        }
        examples.append(
            Example(
                input=structured_input(_jsonable(row["input"])),
                expected=_jsonable(row.get("expected", row.get("output"))),
                metadata={
                    **(metadata if isinstance(metadata, dict) else {}),
                    **{k: _jsonable(v) for k, v in extra.items()},
                },
                source_trace_id=row.get("trace_id"),
                source_span_id=row.get("span_id"),
            )
        )
    return examples


def examples_from_corrections(
    store: Store,
    *,
    correction_ids: Sequence[str] | None = None,
    project: str | None = None,
    prompt: str | None = None,
) -> list[Example]:
    """One example per correction (the latest correction wins when a span was corrected
    more than once): the span's input, the corrected output as expected output."""
    corrections = list_corrections(store, ids=correction_ids, project=project, prompt=prompt)
    if correction_ids is not None:
        found = {c.correction_id for c in corrections}
        missing = [cid for cid in correction_ids if cid not in found]
        if missing:
            raise NotFound(f"no correction(s) {', '.join(missing[:5])}")
    if not corrections:
        raise NotFound("no corrections to add")
    latest = {(c.trace_id, c.span_id): c for c in corrections}
    examples = []
    for c in latest.values():
        row = {
            "trace_id": c.trace_id,
            "span_id": c.span_id,
            "span_name": c.span_name,
            "input": c.span_input,
            "span_metadata": c.span_metadata,
            "prompt_name": c.prompt_name,
            "prompt_version": c.prompt_version,
            "prompt_variables": c.prompt_variables,
        }
        example = _span_example(row, c.corrected_output)
        metadata = {
            **example.metadata,
            "correction_id": c.correction_id,
            "reason": c.reason,
            "original_output": c.original_output,
            "corrected_by": c.author,
        }
        examples.append(Example(example.input, example.expected, metadata, c.trace_id, c.span_id))
    return examples


def _select(store: Store, sql: str) -> list[dict[str, Any]]:
    try:
        statement = check_single_select(sql)
        result = store.select(statement, max_rows=MAX_SPAN_EXAMPLES)
    except QueryRejected as exc:
        raise FeedbackError(str(exc)) from None
    except Exception as exc:  # DuckDB parser/binder errors belong to the query
        text = str(exc).strip()
        raise FeedbackError(text.splitlines()[0] if text else repr(exc)) from None
    if result.truncated:
        raise FeedbackError(f"the query returned more than {MAX_SPAN_EXAMPLES} rows; narrow it")
    return result.records()


def _span_example(row: dict[str, Any], expected: Any) -> Example:
    variables = row.get("prompt_variables")
    if isinstance(variables, str):
        variables = from_json(variables)
    span_metadata = row.get("span_metadata")
    if isinstance(span_metadata, str):
        span_metadata = from_json(span_metadata)
    metadata: dict[str, Any] = {"span_name": row.get("span_name")}
    if row.get("prompt_name"):
        metadata["prompt_name"] = row["prompt_name"]
        metadata["prompt_version"] = row.get("prompt_version")
    if isinstance(span_metadata, dict) and span_metadata:
        metadata["span_metadata"] = span_metadata
    if row.get("input") is None and not isinstance(variables, dict):
        raise FeedbackError(f"span {row.get('span_id')} has no input to make an example from")
    return Example(
        input=variables if isinstance(variables, dict) else structured_input(row["input"]),
        expected=expected,
        metadata=metadata,
        source_trace_id=row.get("trace_id"),
        source_span_id=row.get("span_id"),
    )


def structured_input(value: Any) -> Any:
    """A span's input in one shape whatever wrote it: text that is a JSON object or array
    (how ``@observe`` and most instrumentations store structured arguments) becomes that
    structure, so an example from such a span has the same input as one from a span with
    prompt variables or from an imported file; other text stays text."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        if isinstance(decoded, dict | list):
            return decoded
    return value


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)
