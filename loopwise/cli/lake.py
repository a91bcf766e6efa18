"""DuckLake operations: ``loopwise lake maintain`` and ``loopwise migrate --to ducklake:``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from loopwise.collector.store.backend import BackendError, LakeBackend, connect_lake, parse_store

from .common import fail
from .target import DataPathOption, DbOption, StoreOption

console = Console()
app = typer.Typer(help="Operations on a DuckLake store.", no_args_is_help=True)


def lake_backend(store: str | None, data_path: Path | None, file_hint: str = "") -> LakeBackend:
    """The lake a command's --store/--data-path name; exit 2 when they name none."""
    if store is None:
        fail("give --store ducklake:postgres:<conninfo> (env LOOPWISE_STORE)", code=2)
    try:
        backend = parse_store(store, data_path)
    except BackendError as exc:
        fail(str(exc), code=2)
    if not isinstance(backend, LakeBackend):
        hint = f" ({file_hint})" if file_hint else ""
        fail(f"{store} is a DuckDB file, not a ducklake: store{hint}", code=2)
    return backend


@app.command("maintain")
def maintain_command(
    store: StoreOption = None,
    data_path: DataPathOption = None,
    keep_hours: Annotated[
        float,
        typer.Option("--keep-hours", min=0, help="Keep snapshots this recent (time travel)."),
    ] = 24.0,
) -> None:
    """Merge small Parquet files, expire old snapshots and delete files nothing references."""
    from loopwise.collector.store.lake_maintain import maintain

    backend = lake_backend(store, data_path)
    try:
        con = connect_lake(backend)
    except BackendError as exc:
        fail(str(exc))
    try:
        report = maintain(con, dt.timedelta(hours=keep_hours))
    finally:
        con.close()
    console.print(
        f"spans files {report.files_before} → {report.files_after}, "
        f"snapshots {report.snapshots_before} → {report.snapshots_after}, "
        f"{report.files_deleted} file(s) deleted",
        highlight=False,
    )


def migrate_command(
    to: Annotated[
        str,
        typer.Option("--to", help="The lake to copy into: ducklake:postgres:<conninfo>."),
    ],
    data_path: DataPathOption = None,
    db: DbOption = None,
) -> None:
    """Copy every table of a DuckDB file store into an empty DuckLake and check each one.

    The file (``--db``, default ./.loopwise/loopwise.duckdb) must not be open in a running
    collector; it is left unchanged. Each table is compared with its copy afterwards.
    """
    from loopwise.collector.store import DEFAULT_DB_PATH
    from loopwise.collector.store.lake_migrate import MigrationError, migrate_to_lake

    backend = lake_backend(to, data_path)
    source = db or DEFAULT_DB_PATH
    try:
        report = migrate_to_lake(source, backend)
    except (MigrationError, BackendError) as exc:
        fail(str(exc))
    table = Table("table", "file rows", "lake rows", "identical", title=f"{source} → lake")
    for copy in report.tables:
        table.add_row(copy.name, str(copy.source_rows), str(copy.lake_rows), str(copy.identical))
    console.print(table)
    if not report.identical:
        fail("some tables differ from their source (see the table above); the file is unchanged")
    console.print(
        f"{len(report.tables)} tables, {report.rows} rows copied; every table identical",
        highlight=False,
    )
