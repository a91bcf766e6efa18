"""Scoring one output outside a suite (the pytest plugin), and saving such results as a
run so they sit beside suite runs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..declare import Evaluator
from ..registry import default_registry
from ..runner import Runtime, evaluate
from .record import CollectorRunStore, FolderRunStore, utc_now_iso
from .results import ExampleResult, RunReport, ScoreOutcome
from .scoring import as_text, outcome_from_record, summarize


def score_one(
    evaluator: str | Evaluator,
    output: Any,
    *,
    input: Any = None,
    reference: Any = None,
    context: Sequence[str] | None = None,
) -> tuple[str, ScoreOutcome]:
    """The evaluator's name and its outcome on one output."""
    resolved = default_registry().create(evaluator) if isinstance(evaluator, str) else evaluator
    row = {
        "project": "pytest",
        "trace_id": uuid.uuid4().hex,
        "span_id": uuid.uuid4().hex[:16],
        "name": "assert_score",
        "kind": "chain",
        "status": "ok",
        "input": as_text(input),
        "output": as_text(output),
        "reference": as_text(reference),
        "retrieved_context": list(context or []),
        "root_input": as_text(input),
    }
    result = evaluate(resolved, pa.Table.from_pylist([row]), runtime=Runtime())
    records = result.table.to_pylist()
    if not records:
        return resolved.name, ScoreOutcome(errored=True, error="the evaluator gave no score")
    return resolved.name, outcome_from_record(records[0])


def save_pytest_run(
    results: Sequence[ExampleResult],
    folder: Path,
    *,
    endpoint: str | None = None,
    api_key: str | None = None,
) -> str:
    """Save the results as a run of the suite ``pytest`` in ``folder`` and, with ``endpoint``,
    in that collector too (its Runs page); returns the run id. A collector that cannot take
    the run raises its ApiError after the folder copy is saved."""
    names = sorted({name for r in results for name in r.scores})
    registry = default_registry()
    evaluators = [registry.create(n) for n in names if n in registry]
    now = utc_now_iso()
    report = RunReport(
        run_id="run_" + uuid.uuid4().hex[:12],
        suite="pytest",
        dataset="pytest",
        started_at=now,
        finished_at=now,
        passed=all(
            o.passed is not False and not o.errored for r in results for o in r.scores.values()
        ),
        examples=list(results),
        summaries=summarize(results, evaluators),
        thresholds=[],
    )
    FolderRunStore(folder).save(report)
    if endpoint:
        CollectorRunStore(endpoint, api_key).save(report)
    return report.run_id
