"""``loopwise eval score``: re-score stored spans offline, without calling the workflow again.

Through the collector's API (``--endpoint``) when one runs, else straight on the DuckDB file
(``--db``; only while no collector owns it). Evaluators and selectors come from
``--config`` / ``LOOPWISE_EVALS`` or the default set; ``--evaluator`` picks some of them, or
any registered evaluator over every span.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from loopwise.collector.store import Store, StoreError

from .admin_target import collector_client
from .common import fail, time_option
from .target import current_target, targeted

console = Console()
PAGE = 2000


@targeted
def score(
    since: Annotated[
        str | None, typer.Option("--since", help="Spans started at or after: ISO time or 2h, 7d.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Spans started before: ISO time or 30m, 1d.")
    ] = None,
    project: Annotated[
        list[str] | None, typer.Option("--project", help="Only these projects.")
    ] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Only these span kinds.")] = None,
    name: Annotated[
        list[str] | None, typer.Option("--name", help="Only these span names (glob patterns).")
    ] = None,
    evaluator: Annotated[
        list[str] | None,
        typer.Option("--evaluator", "-e", help="Evaluators to run (default: the whole config)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", envvar="LOOPWISE_EVALS", help="Evaluation config (TOML/JSON)."),
    ] = None,
) -> None:
    """Re-score stored spans offline: add scores and open flags for failures.

    The workflow is not called again, and scores are appended, never replaced. Without
    --db or --endpoint, goes through the collector at http://127.0.0.1:4318 when one runs,
    else scores ./.loopwise/loopwise.duckdb.
    """
    filters = {
        "since": time_option(since, "--since"),
        "until": time_option(until, "--until"),
        "projects": project or [],
        "kinds": kind or [],
        "names": name or [],
    }
    names = list(evaluator or [])
    target = current_target()
    if target.endpoint is not None:
        if config is not None:
            fail("the collector scores with its own config; drop --config (or set it there)")
        tallies = _through_api(target.endpoint, target.api_key, names, filters)
    else:
        assert target.db is not None
        tallies = _on_file(target.db, config, names, filters)
    _print(tallies)


def _progress() -> Progress:
    return Progress(
        TextColumn("scoring spans"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _on_file(
    db: Path, config_path: Path | None, names: list[str], raw_filters: dict[str, Any]
) -> list[dict[str, Any]]:
    from loopwise.evals import (
        ConfigError,
        RescoreError,
        choose_bindings,
        config_from_env,
        load_config,
        rescore,
    )
    from loopwise.evals.api import BadParam, ScoreFilters, filters_from_model

    if not db.exists():
        fail(f"no database at {db}")
    try:
        filters = filters_from_model(ScoreFilters.model_validate(raw_filters))
        config = load_config(config_path) if config_path else config_from_env()
        bindings = choose_bindings(config, names)
    except (ConfigError, RescoreError, BadParam) as exc:
        fail(str(exc), code=2)
    try:
        store = Store(db)
    except StoreError as exc:
        fail(f"{exc}; or run: loopwise eval score --endpoint URL")
    from loopwise.evals import Runtime
    from loopwise.evals.judge import StoreJudgeCache, TracerPool
    from loopwise.evals.offline import count_spans

    # Judge calls are recorded as evaluator spans in the same file, verdicts cached there.
    tracer = TracerPool(store.append_spans)
    runtime = Runtime(store=store, tracer=tracer, judge_cache=StoreJudgeCache(store))
    with store, _progress() as progress:
        task = progress.add_task("score", total=count_spans(store, filters))
        try:
            tallies = rescore(
                store,
                bindings,
                filters,
                rules=config.threshold_rules,
                page_size=PAGE,
                progress=lambda done: progress.advance(task, done),
                runtime=runtime,
            )
        except RescoreError as exc:
            fail(str(exc), code=2)
        finally:
            tracer.shutdown()
    return [vars(t) for t in tallies.values()]


def _through_api(
    endpoint: str, api_key: str | None, names: list[str], filters: dict[str, Any]
) -> list[dict[str, Any]]:
    from loopwise.evals import new_run_id
    from loopwise.evals.offline import EvaluatorTally, merge_tallies

    run_id = new_run_id()
    totals: dict[str, EvaluatorTally] = {}
    after = -1
    with (
        collector_client(endpoint, api_key, timeout_s=300.0) as client,
        _progress() as progress,
    ):
        task = progress.add_task("score", total=None)
        while True:
            body = {
                "evaluators": names,
                "filters": filters,
                "after": after,
                "limit": PAGE,
                "run_id": run_id,
            }
            payload = client.call("POST", "/api/evals/score", json=body)
            if not isinstance(payload, dict):
                fail(f"collector at {endpoint} answered with unexpected JSON")
            if payload.get("total") is not None:
                progress.update(task, total=payload["total"])
            progress.advance(task, int(payload["spans"]))
            page = {f"{t['name']}@{t['version']}": EvaluatorTally(**t) for t in payload["tallies"]}
            merge_tallies(totals, page)
            if payload["done"]:
                break
            after = int(payload["next_after"])
    return [vars(t) for t in totals.values()]


def _print(tallies: list[dict[str, Any]]) -> None:
    table = Table(title="scores added")
    for column in ("evaluator", "version", "scored", "passed", "failed", "errored", "flags"):
        table.add_column(column, justify="left" if column in ("evaluator", "version") else "right")
    for t in sorted(tallies, key=lambda t: t["name"]):
        table.add_row(
            t["name"],
            t["version"],
            str(t["scored"]),
            str(t["passed"]),
            str(t["failed"]),
            str(t["errored"]),
            str(t["flagged"]),
        )
    console.print(table)
    if not tallies:
        console.print("no spans matched", style="yellow")
