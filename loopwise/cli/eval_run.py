"""``loopwise eval run``: run an eval suite and gate on its thresholds (for CI)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

import loopwise
from loopwise.collector.api_errors import ApiError
from loopwise.collector.credentials import auth_headers
from loopwise.collector.sdk import LocalStoreExporter, SpoolingExporter, TestingExporter
from loopwise.evals.suites import (
    CollectorRunStore,
    DatabaseRunStore,
    DatasetNotFound,
    FolderRunStore,
    LoadedDataset,
    RunCache,
    RunOptions,
    RunReport,
    RunStore,
    Suite,
    SuiteError,
    load_dataset_path,
    load_suite,
    run_suite,
    to_json,
    to_junit,
    to_markdown,
)
from loopwise.evals.suites.cache import DEFAULT_CACHE_PATH
from loopwise.evals.suites.reports import BETTER

from .common import err_console, fail

console = Console()
USAGE_ERROR = 2


def run(
    suite_file: Annotated[Path, typer.Argument(help="The suite: a Python file defining a Suite.")],
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            help="Override the suite's dataset: a stored name (name@3 for a version) or a path.",
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option("--baseline", help="Compare with: last, a run id, or a report JSON file."),
    ] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML here.")] = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Write a Markdown report here.")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here.")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, help="Target calls at once.")
    ] = None,
    repeat: Annotated[
        int | None, typer.Option("--repeat", min=1, help="Repetitions per example.")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Call the target again instead of reusing outputs.")
    ] = False,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            envvar="LOOPWISE_ENDPOINT",
            help="Record runs and traces in this collector.",
        ),
    ] = None,
    db: Annotated[
        Path | None, typer.Option("--db", help="Record runs and traces in this DuckDB file.")
    ] = None,
    results_dir: Annotated[
        Path, typer.Option("--results-dir", help="Where runs are kept without a collector or file.")
    ] = Path(".loopwise/runs"),
    cache_path: Annotated[
        Path, typer.Option("--cache", help="The output cache file.")
    ] = DEFAULT_CACHE_PATH,
) -> None:
    """Run an eval suite: exit 0 when every threshold holds, 1 when one fails, 2 on a usage
    or configuration error.

    The target runs on every example (cached outputs are reused unless --no-cache), every
    evaluator scores it, and thresholds are checked with bootstrap intervals; against a
    --baseline, a paired test tells a real regression from noise.
    """
    if endpoint and db:
        fail("give --endpoint or --db, not both", code=USAGE_ERROR)
    try:
        suite = load_suite(suite_file)
        loaded = _load_dataset(dataset or suite.dataset, suite, endpoint=endpoint, db=db)
    except (SuiteError, DatasetNotFound) as exc:
        fail(str(exc), code=USAGE_ERROR)
    run_store: RunStore = (
        CollectorRunStore(endpoint, os.environ.get("LOOPWISE_API_KEY"))
        if endpoint
        else DatabaseRunStore(db)
        if db
        else FolderRunStore(results_dir)
    )
    capture = TestingExporter()
    client = loopwise.default_client()
    client.init(
        "evals",
        exporter=_Tee(capture, _exporter(endpoint, db, os.environ.get("LOOPWISE_API_KEY"))),
        batch=False,
        set_global=True,
    )
    cache = RunCache(cache_path, enabled=not no_cache)
    try:
        report = _run_with_progress(
            suite,
            loaded,
            client,
            capture,
            cache,
            run_store,
            RunOptions(repeat=repeat, concurrency=concurrency, baseline=baseline),
        )
    except SuiteError as exc:
        fail(str(exc), code=USAGE_ERROR)
    except ApiError as exc:  # the collector refused or lost the run (or its baseline)
        fail(f"{run_store.where}: {exc.message}", code=USAGE_ERROR)
    finally:
        cache.close()
        client.shutdown()
    _print_summary(report)
    for path, text in ((junit, to_junit), (markdown, to_markdown), (json_out, to_json)):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text(report))
    console.print(f"run {report.run_id} recorded in {run_store.where}", style="dim")
    raise typer.Exit(0 if report.passed else 1)


def _load_dataset(
    spec: str, suite: Suite, *, endpoint: str | None, db: Path | None
) -> LoadedDataset:
    """A path (relative to the suite file, then to the working directory), else a stored
    dataset ``name[@version]`` from the collector or the file."""
    base = suite.source_path.parent if suite.source_path else Path.cwd()
    for root in (base, Path.cwd()):
        candidate = root / spec.rpartition("@")[0] if "@" in spec else root / spec
        if candidate.exists():
            return load_dataset_path(spec, base=root, fields=suite.fields)
    name = spec.rpartition("@")[0] if "@" in spec else spec
    if "/" in name or "\\" in name or name.endswith((".jsonl", ".json")):
        # A path, not a stored dataset's name: say it is missing rather than ask the store.
        return load_dataset_path(spec, base=base, fields=suite.fields)
    from loopwise.cli.eval_datasets import load_stored_dataset

    return load_stored_dataset(spec, endpoint=endpoint, db=db)


def _exporter(endpoint: str | None, db: Path | None, api_key: str | None) -> SpanExporter | None:
    if endpoint:
        spool = Path(".loopwise") / "spool" / "evals"
        return SpoolingExporter(endpoint, spool, headers=auth_headers(api_key))
    if db:
        return LocalStoreExporter(db, project="evals")
    return None


class _Tee(SpanExporter):
    """Keeps spans for scoring and forwards them to the collector or file when configured."""

    def __init__(self, capture: TestingExporter, forward: SpanExporter | None) -> None:
        self._capture = capture
        self._forward = forward

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._capture.export(spans)
        if self._forward is not None:
            self._forward.export(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        if self._forward is not None:
            self._forward.shutdown()


def _run_with_progress(
    suite: Suite,
    dataset: LoadedDataset,
    client: loopwise.Client,
    capture: TestingExporter,
    cache: RunCache,
    run_store: RunStore,
    options: RunOptions,
) -> RunReport:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(f"{suite.name} on {dataset.label}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return run_suite(
            suite,
            dataset,
            client=client,
            capture=capture,
            cache=cache,
            run_store=run_store,
            options=options,
            progress=advance,
        )


def _print_summary(report: RunReport) -> None:
    table = Table(title=f"{report.suite} on {report.dataset}")
    columns = ("evaluator", "mean [95% CI]", "better", "pass rate [95% CI]", "scored", "errored")
    for column in columns:
        table.add_column(column, justify="left" if column in ("evaluator", "better") else "right")
    for summary in report.summaries:
        table.add_row(
            Text(summary.name),
            str(summary.mean),
            BETTER.get(summary.direction, ""),
            str(summary.pass_rate),
            str(summary.scored),
            str(summary.errored),
        )
    console.print(table)
    for threshold in report.thresholds:
        mark = "[green]✓[/]" if threshold.passed else "[red]✗[/]"
        console.print(mark, Text(f"{threshold.description}: {threshold.reason}"))
    if report.comparison:
        failing = len(report.comparison.newly_failing)
        passing = len(report.comparison.newly_passing)
        console.print(
            f"against {report.comparison.baseline_run_id}: {failing} newly failing, "
            f"{passing} newly passing"
        )
    errors = sum(1 for e in report.examples if e.error)
    if errors:
        console.print(f"[yellow]{errors} target error(s), counted as failures[/]")
    console.print("[bold green]PASSED[/]" if report.passed else "[bold red]FAILED[/]")
