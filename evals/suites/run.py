"""One suite run from start to verdict: target runs (or recorded outputs), scores,
statistics, thresholds, the baseline comparison, and the saved report."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopwise.collector.sdk import Client, TestingExporter

from ..runner import Runtime
from .cache import RunCache
from .examples import LoadedDataset
from .execute import Progress, TargetRun, run_target
from .record import RunStore, utc_now_iso
from .results import RunReport
from .scoring import check_thresholds, compare_with_baseline, score_runs, summarize
from .suite import Suite, SuiteError


@dataclass
class RunOptions:
    """Command-line overrides and run settings."""

    repeat: int | None = None
    concurrency: int | None = None
    baseline: str | None = None
    seed: int = 0


def run_suite(
    suite: Suite,
    dataset: LoadedDataset,
    *,
    client: Client,
    capture: TestingExporter,
    cache: RunCache,
    run_store: RunStore,
    options: RunOptions | None = None,
    runtime: Runtime | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Run, score, judge and save; returns the report (``report.passed`` is the gate)."""
    options = options or RunOptions()
    if options.repeat:
        suite.repeat = options.repeat
    if options.concurrency:
        suite.concurrency = options.concurrency
    evaluators = suite.resolved_evaluators()
    if not dataset.examples:
        raise SuiteError(f"dataset {dataset.label} has no examples")
    run_id = "run_" + uuid.uuid4().hex[:12]
    started = utc_now_iso()
    baseline = find_baseline(options.baseline, suite.name, run_store) if options.baseline else None
    if suite.target is not None:
        runs = asyncio.run(
            run_target(
                suite,
                dataset.examples,
                client=client,
                capture=capture,
                cache=cache,
                run_id=run_id,
                progress=progress,
            )
        )
    else:
        runs = recorded_runs(suite, dataset)
    results = score_runs(runs, evaluators, runtime or Runtime())
    summaries = summarize(results, evaluators, seed=options.seed)
    comparison = (
        compare_with_baseline(results, baseline, {e.name: e.direction for e in evaluators})
        if baseline is not None
        else None
    )
    thresholds = check_thresholds(suite.thresholds, summaries, comparison)
    report = RunReport(
        run_id=run_id,
        suite=suite.name,
        dataset=dataset.label,
        started_at=started,
        finished_at=utc_now_iso(),
        passed=all(t.passed for t in thresholds),
        examples=results,
        summaries=summaries,
        thresholds=thresholds,
        comparison=comparison,
        context=run_context(suite, runs),
    )
    run_store.save(report)
    return report


def find_baseline(spec: str, suite: str, run_store: RunStore) -> dict[str, Any]:
    """``last`` (the suite's newest recorded run), a run id, or a report JSON file."""
    if spec == "last":
        found = run_store.last(suite)
        if found is None:
            raise SuiteError(f"no earlier run of {suite!r} in {run_store.where} to compare with")
        return found
    path = Path(spec)
    if path.suffix == ".json" or path.is_file():
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            raise SuiteError(f"baseline {spec}: not a readable report: {exc}") from None
    found = run_store.get(spec)
    if found is None:
        raise SuiteError(f"no run {spec!r} in {run_store.where}")
    return found


def recorded_runs(suite: Suite, dataset: LoadedDataset) -> list[TargetRun]:
    """Runs from a JSONL of recorded outputs (``{"example_id", "output"}`` per line)."""
    assert suite.outputs is not None
    path = Path(suite.outputs)
    if not path.is_absolute() and suite.source_path is not None:
        path = suite.source_path.parent / path
    try:
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise SuiteError(f"recorded outputs {path}: {exc}") from None
    by_id = {str(r.get("example_id")): r for r in lines if isinstance(r, dict)}
    runs = []
    for example in dataset.examples:
        record = by_id.get(example.example_id)
        if record is None:
            runs.append(TargetRun(example, 0, error="no recorded output for this example"))
        else:
            runs.append(
                TargetRun(example, 0, output=record.get("output"), trace_id=record.get("trace_id"))
            )
    return runs


def run_context(suite: Suite, runs: Sequence[TargetRun]) -> dict[str, Any]:
    """What the run depended on: git commit, models and prompt versions seen in its spans,
    plus the suite's own context."""
    models = sorted({str(r["model"]) for run in runs for r in run.rows or [] if r.get("model")})
    prompts: set[str] = set()
    for run in runs:
        for row in run.rows or []:
            try:
                attributes = json.loads(row.get("attributes") or "{}")
            except ValueError:
                continue
            name = attributes.get("loopwise.prompt.name")
            if name:
                prompts.add(f"{name}@{attributes.get('loopwise.prompt.version', '?')}")
    return {
        "git_commit": _git_commit(suite.source_path),
        "models": ", ".join(models) or None,
        "prompts": ", ".join(sorted(prompts)) or None,
        **suite.context,
    }


def _git_commit(path: Path | None) -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=path.parent if path else None,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None
