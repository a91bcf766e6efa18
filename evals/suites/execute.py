"""Running the target over a dataset: every example x repetition, concurrently, each in
its own traced root span, with cached runs reused."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from loopwise.collector.sdk import Client, TestingExporter
from loopwise.collector.times import maybe_utc

from .cache import RunCache, cache_key
from .examples import SuiteExample
from .suite import Suite

TIME_COLUMNS = ("start_time", "end_time", "ingested_at")
Progress = Callable[[int, int], None]


@dataclass
class TargetRun:
    """One call of the target: its output or error, and the rows of the trace it made."""

    example: SuiteExample
    repetition: int
    output: Any = None
    error: str | None = None
    trace_id: str | None = None
    root_span_id: str | None = None
    rows: list[dict[str, Any]] | None = None
    cached: bool = False

    @property
    def root_row(self) -> dict[str, Any] | None:
        """The run's root span row."""
        for row in self.rows or []:
            if row.get("span_id") == self.root_span_id:
                return row
        return None


async def run_target(
    suite: Suite,
    examples: Sequence[SuiteExample],
    *,
    client: Client,
    capture: TestingExporter,
    cache: RunCache,
    run_id: str,
    progress: Progress | None = None,
) -> list[TargetRun]:
    """Run the suite's target on every example ``suite.repeat`` times, at most
    ``suite.concurrency`` at once. A target that raises is recorded, never re-raised."""
    target = suite.target
    assert target is not None
    identity = suite.target_identity()
    jobs = [(example, rep) for example in examples for rep in range(suite.repeat)]
    semaphore = asyncio.Semaphore(suite.concurrency)
    done = 0
    runs: list[TargetRun] = []

    async def one(example: SuiteExample, repetition: int) -> TargetRun:
        nonlocal done
        key = cache_key(suite.name, identity, example.input, repetition)
        hit = cache.get(key)
        if hit is not None:
            run = _from_cache(example, repetition, hit)
        else:
            async with semaphore:
                run = await _call(suite, target, example, repetition, client, run_id)
        done += 1
        if progress:
            progress(done, len(jobs))
        return run

    runs = list(await asyncio.gather(*(one(e, r) for e, r in jobs)))
    client.flush()
    rows_by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in capture.rows(client.project):
        rows_by_trace[row["trace_id"]].append(row)
    capture.clear()
    for run in runs:
        if run.cached:
            continue
        run.rows = rows_by_trace.get(run.trace_id or "", [])
        cache.put(
            cache_key(suite.name, identity, run.example.input, run.repetition),
            {
                "output": run.output,
                "error": run.error,
                "trace_id": run.trace_id,
                "root_span_id": run.root_span_id,
                "rows": run.rows,
            },
        )
    return runs


async def _call(
    suite: Suite,
    target: Callable[[Any], Any],
    example: SuiteExample,
    repetition: int,
    client: Client,
    run_id: str,
) -> TargetRun:
    run = TargetRun(example, repetition)
    with client.span(f"eval {suite.name}", kind="chain") as root:
        root.set_input(example.input)
        root.set_tags(["eval", suite.name])
        root.set_metadata(
            suite=suite.name, example_id=example.example_id, repetition=repetition, run_id=run_id
        )
        run.trace_id, run.root_span_id = root.trace_id, root.span_id
        try:
            if inspect.iscoroutinefunction(target):
                run.output = await target(example.input)
            else:
                context = contextvars.copy_context()
                call = functools.partial(context.run, target, example.input)
                run.output = await asyncio.get_running_loop().run_in_executor(None, call)
            root.set_output(run.output)
        except Exception as exc:
            run.error = f"{type(exc).__name__}: {exc}"
            root.record_error(exc)
    return run


def _from_cache(example: SuiteExample, repetition: int, payload: dict[str, Any]) -> TargetRun:
    rows = [_revive_times(row) for row in payload.get("rows") or []]
    return TargetRun(
        example=example,
        repetition=repetition,
        output=payload.get("output"),
        error=payload.get("error"),
        trace_id=payload.get("trace_id"),
        root_span_id=payload.get("root_span_id"),
        rows=rows,
        cached=True,
    )


def _revive_times(row: dict[str, Any]) -> dict[str, Any]:
    for column in TIME_COLUMNS:
        value = row.get(column)
        if isinstance(value, str):
            row[column] = maybe_utc(value)
    return row
