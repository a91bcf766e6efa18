"""Running one evaluator over a batch of spans, whatever its form (span, trace or batch;
sync or async), into row-aligned results.

Every failure of an evaluator becomes an errored score for the rows it concerns: an
exception, a wrong return type, a malformed ``BatchScores``. Nothing an evaluator does
stops the batch.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .declare import Evaluator
from .score import BatchScores, Score, ScoreError, clip_text
from .views import SpanView, TraceView, span_views

log = logging.getLogger(__name__)

RESULT_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("project", pa.string()),
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("span_name", pa.string()),
        ("value", pa.float64()),
        ("label", pa.string()),
        ("passed", pa.bool_()),
        ("explanation", pa.string()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("metadata", pa.string()),
    ]
)
DEFAULT_CONCURRENCY = 16


@dataclass
class Runtime:
    """What evaluators may use while they run: the store (judge cache), a source of SDK
    clients recording evaluator spans per project, and the async concurrency limit."""

    store: Any = None
    tracer: Callable[[str], Any] | None = None
    judge_cache: Any = None
    concurrency: int = DEFAULT_CONCURRENCY


@dataclass(frozen=True)
class EvaluationResult:
    """One evaluator's results over a batch: a table in ``RESULT_SCHEMA``, one row per
    score (rows the evaluator had no opinion on are absent)."""

    evaluator: Evaluator
    table: pa.Table

    @property
    def count(self) -> int:
        """How many scores."""
        return int(self.table.num_rows)

    def records(self) -> list[dict[str, Any]]:
        """The scores as dicts (with ``name`` and ``evaluator_version``)."""
        extra = {"name": self.evaluator.name, "evaluator_version": self.evaluator.version}
        return [{**row, **extra} for row in self.table.to_pylist()]


def evaluate(
    evaluator: Evaluator,
    spans: pa.Table,
    *,
    traces: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    runtime: Runtime | None = None,
) -> EvaluationResult:
    """Score ``spans`` (an Arrow table in the spans schema, plus optional context columns)
    with ``evaluator``. Trace evaluators score each distinct trace once, from ``traces``
    (all spans of each trace) or, when absent, from the rows of ``spans``."""
    runtime = runtime or Runtime()
    if evaluator.target == "batch":
        table = _run_batch(evaluator, spans)
    else:
        items = _items(evaluator, spans, traces)
        table = _run_each(evaluator, items, runtime)
    return EvaluationResult(evaluator, table)


def _items(
    evaluator: Evaluator,
    spans: pa.Table,
    traces: Mapping[str, Sequence[Mapping[str, Any]]] | None,
) -> list[tuple[int, SpanView | TraceView]]:
    if evaluator.target == "span":
        return list(enumerate(span_views(spans)))
    rows_by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    first_row: dict[str, int] = {}
    for index, row in enumerate(spans.to_pylist()):
        first_row.setdefault(row["trace_id"], index)
        rows_by_trace[row["trace_id"]].append(row)
    items: list[tuple[int, SpanView | TraceView]] = []
    for trace_id, index in first_row.items():
        rows = (traces or {}).get(trace_id) or rows_by_trace[trace_id]
        items.append((index, TraceView.from_rows(rows)))
    return items


def _run_each(
    evaluator: Evaluator, items: list[tuple[int, SpanView | TraceView]], runtime: Runtime
) -> pa.Table:
    evaluator.setup(runtime)
    if evaluator.is_async:
        outcomes = _run_coroutine(lambda: _gather(evaluator, items, runtime.concurrency))
    else:
        outcomes = [_call(evaluator, item) for _, item in items]
    records = []
    for (index, item), outcome in zip(items, outcomes, strict=True):
        score = _checked(evaluator, outcome)
        if score is None:
            continue
        where: tuple[str, str, str | None, str]
        if isinstance(item, SpanView):
            where = (item.project, item.trace_id, item.span_id, item.name)
        else:
            where = (item.project, item.trace_id, None, item.root.name)
        records.append(_record(index, where, score))
    return pa.Table.from_pylist(records, schema=RESULT_SCHEMA)


def _call(evaluator: Evaluator, item: SpanView | TraceView) -> Any:
    try:
        return evaluator.fn(item)
    except Exception as exc:
        return exc


async def _gather(
    evaluator: Evaluator, items: list[tuple[int, SpanView | TraceView]], concurrency: int
) -> list[Any]:
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(item: SpanView | TraceView) -> Any:
        async with limit:
            try:
                return await evaluator.fn(item)
            except Exception as exc:
                return exc

    try:
        return await asyncio.gather(*(one(item) for _, item in items))
    finally:
        try:
            await evaluator.aclose()
        except Exception:
            log.warning("evaluator %s failed to close", evaluator.key, exc_info=True)


def _run_coroutine(make: Callable[[], Awaitable[Any]]) -> Any:
    """Run a coroutine to completion from sync code, even under a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())  # type: ignore[arg-type]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()  # type: ignore[arg-type]


def _checked(evaluator: Evaluator, outcome: Any) -> Score | None:
    if isinstance(outcome, Score):
        return outcome
    if isinstance(outcome, BaseException):
        message = f"{type(outcome).__name__}: {outcome}"
        log.debug("evaluator %s raised %s", evaluator.key, message)
        return Score.errored(f"evaluator raised {clip_text(message, 500)}")
    if outcome is None and evaluator.optional:
        return None
    return Score.errored(
        f"evaluator returned {type(outcome).__name__}, expected Score"
        + ("" if evaluator.optional else " (annotate -> Score | None to skip items)")
    )


def _record(index: int, where: tuple[str, str, str | None, str], score: Score) -> dict[str, Any]:
    project, trace_id, span_id, span_name = where
    return {
        "row": index,
        "project": project,
        "trace_id": trace_id,
        "span_id": span_id,
        "span_name": span_name,
        "value": score.value,
        "label": clip_text(score.label, 200),
        "passed": None if score.passed is None else bool(score.passed),
        "explanation": clip_text(score.explanation),
        "status": score.status,
        "error": clip_text(score.error, 1000),
        "metadata": json.dumps(dict(score.metadata), default=str) if score.metadata else None,
    }


def _run_batch(evaluator: Evaluator, spans: pa.Table) -> pa.Table:
    rows = spans.num_rows
    if rows == 0:
        return RESULT_SCHEMA.empty_table()
    try:
        argument: Any = spans.to_pandas() if evaluator.batch_format == "pandas" else spans
        outcome = evaluator.fn(argument)
        if evaluator.is_async:
            outcome = _run_coroutine(lambda: outcome)
        scores = _batch_table(outcome, rows)
    except Exception as exc:
        message = clip_text(f"evaluator raised {type(exc).__name__}: {exc}", 1000)
        log.warning("batch evaluator %s failed on %d rows: %s", evaluator.key, rows, message)
        scores = pa.table(
            {
                "value": pa.nulls(rows, pa.float64()),
                "passed": pa.nulls(rows, pa.bool_()),
                "label": pa.nulls(rows, pa.string()),
                "explanation": pa.nulls(rows, pa.string()),
                "applies": pa.array([True] * rows),
                "error": pa.array([message] * rows, pa.string()),
            }
        )
    return _batch_results(spans, scores)


def _batch_table(outcome: Any, rows: int) -> pa.Table:
    if isinstance(outcome, BatchScores):
        return outcome.to_arrow(rows)
    if isinstance(outcome, list):
        if len(outcome) != rows:
            raise ScoreError(f"returned {len(outcome)} scores for a batch of {rows} rows")
        if not all(s is None or isinstance(s, Score) for s in outcome):
            raise ScoreError("a batch evaluator's list must hold Score or None")
        return BatchScores(
            value=[s.value if s else None for s in outcome],
            passed=[s.passed if s else None for s in outcome],
            label=[s.label if s else None for s in outcome],
            explanation=[s.explanation if s else None for s in outcome],
            applies=[s is not None for s in outcome],
            error=[s.error if s else None for s in outcome],
        ).to_arrow(rows)
    raise ScoreError(f"returned {type(outcome).__name__}, expected BatchScores")


def _batch_results(spans: pa.Table, scores: pa.Table) -> pa.Table:
    has_score = pc.or_(
        pc.or_(pc.is_valid(scores.column("value")), pc.is_valid(scores.column("passed"))),
        pc.or_(pc.is_valid(scores.column("label")), pc.is_valid(scores.column("error"))),
    )
    keep = pc.and_(pc.fill_null(scores.column("applies"), False), has_score)
    rows = pa.array(range(spans.num_rows), pa.int64()).filter(keep)
    errored = pc.is_valid(scores.column("error"))
    status = pc.if_else(errored, "errored", "ok")
    passed = pc.if_else(errored, pa.scalar(None, pa.bool_()), scores.column("passed"))
    explanation = pc.utf8_slice_codeunits(scores.column("explanation"), 0, 4000)
    picked = spans.select(["project", "trace_id", "span_id", "name"]).filter(keep)
    return pa.table(
        {
            "row": rows,
            "project": picked.column("project"),
            "trace_id": picked.column("trace_id"),
            "span_id": picked.column("span_id"),
            "span_name": picked.column("name"),
            "value": scores.column("value").filter(keep),
            "label": scores.column("label").filter(keep),
            "passed": passed.filter(keep),
            "explanation": explanation.filter(keep),
            "status": status.filter(keep),
            "error": scores.column("error").filter(keep),
            "metadata": pa.nulls(len(rows), pa.string()),
        },
        schema=RESULT_SCHEMA,
    )
