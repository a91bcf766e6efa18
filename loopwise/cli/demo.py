"""``loopwise demo``: send the support-ticket triage demo's traffic to a collector or a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .common import clean_errors, fail

console = Console()


def demo(
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint", envvar="LOOPWISE_ENDPOINT", help="Collector URL to send traces to."
        ),
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="Write straight into this DuckDB file instead (no collector)."),
    ] = None,
    count: Annotated[
        int | None,
        typer.Option("--count", "-n", min=1, help="Traces to send; default: until Ctrl-C."),
    ] = None,
    interval: Annotated[
        float, typer.Option("--interval", min=0.0, help="Seconds between traces.")
    ] = 1.0,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed: the same seed replays the same run.")
    ] = 7,
    project: Annotated[
        str, typer.Option("--project", help="Project the traces belong to.")
    ] = "support-bot",
    time_scale: Annotated[
        float,
        typer.Option(
            "--time-scale", min=0.0, help="Scale of simulated model latency (0: no waiting)."
        ),
    ] = 1.0,
) -> None:
    """Send the demo workflow's traces.

    A support-ticket triage workflow (classify → retrieve → draft reply) over a seeded fake
    model, with invalid JSON, invented order ids, refusals, slow calls and errors mixed in.
    """
    from loopwise.demo import demo_client, run_traffic

    if endpoint and db:
        fail("give --endpoint or --db, not both", code=2)
    with clean_errors():
        client = demo_client(project=project, endpoint=endpoint, db=db)
    target = str(db) if db else (endpoint or "http://127.0.0.1:4318")
    console.print(f"sending demo traces to {target} (Ctrl-C to stop)", highlight=False)
    try:
        summary = run_traffic(
            client, count=count, interval_s=interval, seed=seed, time_scale=time_scale
        )
    except KeyboardInterrupt:
        summary = None
    finally:
        client.shutdown()
    if summary is not None:
        table = Table("traces", "errors", *sorted(summary.faults), title="demo run")
        table.add_row(
            str(summary.traces),
            str(summary.errors),
            *(str(summary.faults[k]) for k in sorted(summary.faults)),
        )
        console.print(table)
