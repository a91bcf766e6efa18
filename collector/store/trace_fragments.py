"""Summarize a batch of newly stored spans per trace, in Arrow, for the ``traces`` table.

The writer calls this on every commit, so it avoids a SQL round trip: the batch is already
an Arrow table in memory. When every span in the batch belongs to a different trace, each
fragment is just that span's values; otherwise the batch is sorted by (trace, rank) and the
first value per group gives each "lowest rank wins" field. The rules are documented in
``traces.py``; ``rebuild_traces`` implements the same rules in SQL, and the tests hold the
two to each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .traces import CHILD_OFFSET, END_BASE, PREVIEW_CHARS, TRACE_ARROW_SCHEMA
from .usage import USAGE_SPAN_TYPE, USAGE_SPANS_ARROW

_KEEP_NULLS = pc.ScalarAggregateOptions(skip_nulls=False)
_NULL_RANK = pa.scalar(None, pa.int64())
_TAGS_TYPE = pa.list_(pa.string())


def new_spans(incoming: pa.Table, inserted: Sequence[tuple[Any, ...]]) -> pa.Table:
    """The rows of ``incoming`` that were really inserted, given the inserted (trace_id,
    span_id) keys; each key once, even when ``incoming`` repeats it."""
    if len(inserted) == incoming.num_rows:
        return incoming  # nothing was already stored and nothing repeated: all rows are new
    if not inserted:
        return incoming.slice(0, 0)
    wanted = pa.array([f"{trace_id}/{span_id}" for trace_id, span_id, *_ in inserted])
    keys = pc.binary_join_element_wise(incoming["trace_id"], incoming["span_id"], "/")
    positions = pa.table({"key": keys, "row": pa.array(range(incoming.num_rows), pa.int64())})
    positions = positions.filter(pc.is_in(positions["key"], wanted))
    first = positions.group_by("key", use_threads=False).aggregate([("row", "min")])["row_min"]
    return incoming.take(pc.take(first, pc.sort_indices(first)))


def trace_fragments(spans: pa.Table) -> pa.Table:
    """One row per trace in ``spans`` (normalized span rows), in the ``traces`` schema."""
    if spans.num_rows == 0:
        return TRACE_ARROW_SCHEMA.empty_table()
    child = pc.multiply(pc.is_valid(spans["parent_span_id"]).cast(pa.int64()), CHILD_OFFSET)
    root_rank = pc.add(child, spans["start_time"].cast(pa.int64()))
    output_rank = pc.add(child, pc.subtract(END_BASE, spans["end_time"].cast(pa.int64())))
    input_preview = pc.utf8_slice_codeunits(spans["input"], 0, PREVIEW_CHARS)
    output_preview = pc.utf8_slice_codeunits(spans["output"], 0, PREVIEW_CHARS)
    per_span: dict[str, Any] = {
        "trace_id": spans["trace_id"],
        "root_rank": root_rank,
        "span_id": spans["span_id"],
        "project": spans["project"],
        "name": spans["name"],
        "service_name": spans["service_name"],
        "start_time": spans["start_time"],
        "end_time": spans["end_time"],
        "error_count": pc.equal(spans["status"], "error").cast(pa.int64()),
        "total_tokens": spans["total_tokens"],
        "cost_usd": spans["cost_usd"],
        "session_id": spans["session_id"],
        "user_id": spans["user_id"],
        "input_preview": input_preview,
        "input_rank": _rank_where_set(input_preview, root_rank),
        "output_preview": output_preview,
        "output_rank": _rank_where_set(output_preview, output_rank),
    }
    if pc.count_distinct(spans["trace_id"]).as_py() == spans.num_rows:
        columns = _one_span_per_trace(per_span, spans)
    else:
        columns = _grouped(per_span, spans)
    columns.update(_usage(spans, columns["trace_id"]))
    return pa.table(
        [columns[field.name].cast(field.type) for field in TRACE_ARROW_SCHEMA],
        schema=TRACE_ARROW_SCHEMA,
    )


def _one_span_per_trace(per_span: dict[str, Any], spans: pa.Table) -> dict[str, Any]:
    tags = spans["tags"]
    return {
        **per_span,
        "root_span_id": per_span["span_id"],
        "root_name": per_span["name"],
        "span_count": pa.repeat(pa.scalar(1, pa.int64()), spans.num_rows),
        "tags": _tag_unions(spans, spans["trace_id"]) if _any_tags(tags) else _no_tags(spans),
    }


def _grouped(per_span: dict[str, Any], spans: pa.Table) -> dict[str, Any]:
    outputs = ("output_preview", "output_rank")
    by_root = pa.table({k: v for k, v in per_span.items() if k not in outputs}).sort_by(
        [("trace_id", "ascending"), ("root_rank", "ascending"), ("span_id", "ascending")]
    )
    summary = by_root.group_by("trace_id", use_threads=False).aggregate(
        [
            ("project", "first"),
            ("span_id", "first"),
            ("name", "first"),
            ("service_name", "first", _KEEP_NULLS),
            ("start_time", "min"),
            ("end_time", "max"),
            ("span_id", "count"),
            ("error_count", "sum"),
            ("total_tokens", "sum"),
            ("cost_usd", "sum"),
            ("session_id", "min"),
            ("user_id", "min"),
            ("input_preview", "first"),
            ("root_rank", "min"),
            ("input_rank", "min"),
        ]
    )
    by_end = pa.table(
        {
            "trace_id": per_span["trace_id"],
            "output_rank": per_span["output_rank"],
            "span_id": per_span["span_id"],
            "output_preview": per_span["output_preview"],
        }
    ).sort_by([("trace_id", "ascending"), ("output_rank", "ascending"), ("span_id", "ascending")])
    last_outputs = by_end.group_by("trace_id", use_threads=False).aggregate(
        [("output_preview", "first"), ("output_rank", "min")]
    )
    # group_by does not promise an order of groups: line the outputs up by trace id.
    trace_ids = summary["trace_id"]
    last_outputs = last_outputs.take(pc.index_in(trace_ids, value_set=last_outputs["trace_id"]))
    tags = _tag_unions(spans, trace_ids) if _any_tags(spans["tags"]) else _no_tags(summary)
    return {
        "trace_id": trace_ids,
        "project": summary["project_first"],
        "root_span_id": summary["span_id_first"],
        "root_name": summary["name_first"],
        "service_name": summary["service_name_first"],
        "start_time": summary["start_time_min"],
        "end_time": summary["end_time_max"],
        "span_count": summary["span_id_count"],
        "error_count": summary["error_count_sum"],
        "total_tokens": summary["total_tokens_sum"],
        "cost_usd": summary["cost_usd_sum"],
        "session_id": summary["session_id_min"],
        "user_id": summary["user_id_min"],
        "tags": tags,
        "input_preview": summary["input_preview_first"],
        "output_preview": last_outputs["output_preview_first"],
        "root_rank": summary["root_rank_min"],
        "input_rank": summary["input_rank_min"],
        "output_rank": last_outputs["output_rank_min"],
    }


def _usage(spans: pa.Table, trace_ids: Any) -> dict[str, pa.Array]:
    """Per trace (aligned with ``trace_ids``): ``usage_spans``, its spans that report tokens
    or cost as ``usage.USAGE_SPAN_TYPE`` entries ordered by span id (null when none does),
    and ``total_tokens``/``cost_usd`` counted by the rule in ``usage.py`` over this batch
    (merges with stored rows recompute them from the folded lists in SQL)."""
    reports = pc.or_(pc.is_valid(spans["total_tokens"]), pc.is_valid(spans["cost_usd"]))
    if not pc.any(reports).as_py():
        return {
            "usage_spans": pa.nulls(len(trace_ids), USAGE_SPANS_ARROW),
            "total_tokens": pa.nulls(len(trace_ids), pa.int64()),
            "cost_usd": pa.nulls(len(trace_ids), pa.float64()),
        }
    rows = spans.select(["trace_id", "span_id", "parent_span_id", "total_tokens", "cost_usd"])
    rows = rows.filter(reports).sort_by([("trace_id", "ascending"), ("span_id", "ascending")])
    rows = pa.table(
        [
            rows[name].combine_chunks().cast(field.type)
            for name, field in zip(
                rows.column_names,
                [pa.field("trace_id", pa.string()), *USAGE_SPAN_TYPE],
                strict=True,
            )
        ],
        names=rows.column_names,
    )
    entries = pa.StructArray.from_arrays(
        [rows[name].chunk(0) for name in USAGE_SPAN_TYPE.names], fields=list(USAGE_SPAN_TYPE)
    )
    # Rows are sorted by trace: each run of one trace id becomes one list.
    ids = rows["trace_id"].chunk(0)
    changes = pc.not_equal(ids.slice(1), ids.slice(0, len(ids) - 1)).to_numpy(zero_copy_only=False)
    starts = np.concatenate(([0], np.flatnonzero(changes) + 1))
    offsets = pa.array(np.append(starts, len(ids)).astype(np.int32))
    lists = pa.ListArray.from_arrays(offsets, entries).cast(USAGE_SPANS_ARROW)
    own = pc.binary_join_element_wise(ids, rows["span_id"], "/")
    parents = pc.binary_join_element_wise(ids, rows["parent_span_id"], "/")
    counted: dict[str, Any] = {"trace_id": ids}
    for name in ("total_tokens", "cost_usd"):
        values = rows[name]
        reporting_parents = parents.filter(pc.and_(pc.is_valid(values), pc.is_valid(parents)))
        superseded = pc.is_in(own, value_set=reporting_parents)
        counted[name] = pc.if_else(superseded, pa.scalar(None, values.type), values)
    sums = (
        pa.table(counted)
        .group_by("trace_id", use_threads=False)
        .aggregate([("total_tokens", "sum"), ("cost_usd", "sum")])
    )
    position = pc.index_in(trace_ids, value_set=pc.take(ids, pa.array(starts)))
    summed = pc.index_in(trace_ids, value_set=sums["trace_id"])  # groups come in any order
    return {
        "usage_spans": pc.take(lists, position),
        "total_tokens": pc.take(sums["total_tokens_sum"], summed),
        "cost_usd": pc.take(sums["cost_usd_sum"], summed),
    }


def _rank_where_set(values: Any, rank: Any) -> Any:
    return pc.if_else(pc.is_valid(values), rank, _NULL_RANK)


def _any_tags(tags: Any) -> bool:
    return bool(pc.max(pc.list_value_length(tags)).as_py() or 0)


def _no_tags(table: pa.Table) -> pa.Array:
    return pa.repeat(pa.scalar([], _TAGS_TYPE), table.num_rows)


def _tag_unions(spans: pa.Table, trace_ids: Any) -> pa.Array:
    """Sorted distinct tags per trace, aligned with ``trace_ids``. Few spans carry tags, so
    only those rows are visited in Python."""
    tagged = pc.greater(pc.fill_null(pc.list_value_length(spans["tags"]), 0), 0)
    rows = spans.select(["trace_id", "tags"]).filter(tagged)
    unions: dict[str, set[str]] = {}
    for trace_id, values in zip(
        rows["trace_id"].to_pylist(), rows["tags"].to_pylist(), strict=True
    ):
        unions.setdefault(trace_id, set()).update(v for v in values if v is not None)
    return pa.array(
        [sorted(unions.get(trace_id, ())) for trace_id in trace_ids.to_pylist()], _TAGS_TYPE
    )
