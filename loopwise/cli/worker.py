"""``loopwise worker``: online scoring of a lake store as its own process."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from loopwise.collector.store.backend import BackendError

from .common import fail
from .lake import lake_backend
from .target import DataPathOption, StoreOption

console = Console()


def worker(
    store: StoreOption = None,
    data_path: DataPathOption = None,
    config_path: Annotated[
        Path | None,
        typer.Option("--config", envvar="LOOPWISE_EVALS", help="Evaluation config (TOML/JSON)."),
    ] = None,
    partitions: Annotated[
        int,
        typer.Option(
            "--partitions",
            min=1,
            max=1024,
            help="Trace-id partitions to share out (set by the lake's first worker).",
        ),
    ] = 16,
    once: Annotated[
        bool, typer.Option("--once", help="Score what is stored now, print a summary, exit.")
    ] = False,
) -> None:
    """Score new spans of a DuckLake store with the online evaluators, alongside others.

    Run as many as you like against one lake: they share its trace-id partitions through
    leases, and a window of spans is scored by exactly one of them. A file store scores
    inside ``loopwise collect`` and needs no worker.
    """
    from loopwise.evals.config import ConfigError, config_from_env, load_config
    from loopwise.evals.lake_worker import LakeWorker, worker_lag

    backend = lake_backend(
        store,
        data_path,
        file_hint="a file store is scored inside `loopwise collect`; run workers on a lake",
    )
    try:
        config = load_config(config_path) if config_path else config_from_env()
    except ConfigError as exc:
        fail(str(exc), code=2)
    try:
        runner = LakeWorker(backend, config, partitions=partitions)
    except BackendError as exc:
        fail(str(exc))
    try:
        if once:
            runner.refresh()
            while runner.run_once():
                pass
        else:
            _stop_on_signals(runner.stop)
            console.print(
                f"worker {runner.owner} scoring {backend.spec} "
                f"({len(config.bindings)} evaluators; Ctrl-C to stop)",
                highlight=False,
            )
            runner.run()
        lag = worker_lag(runner.con, runner.leases.partitions)
    finally:
        runner.close()
    stats = runner.stats
    table = Table(
        "partitions",
        "windows",
        "spans",
        "scores",
        "flags",
        "lost commits",
        "lag s",
        title=f"worker {runner.owner}",
    )
    table.add_row(
        ",".join(map(str, stats.partitions)) or "-",
        str(stats.windows),
        str(stats.spans),
        str(stats.scores),
        str(stats.flags),
        str(stats.lost_commits),
        f"{lag.total_seconds():.1f}",
    )
    console.print(table)


def _stop_on_signals(stop: Callable[[], None]) -> None:
    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
