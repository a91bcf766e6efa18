"""``loopwise export DIR`` and ``loopwise import DIR``: the whole store as Parquet files
with a manifest (schema version, row counts), and back. See docs/retention.md."""

from __future__ import annotations

import json
import tarfile
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from loopwise.collector.store import DEFAULT_DB_PATH, Store, StoreError
from loopwise.collector.store.export import MANIFEST, ExportError, export_store
from loopwise.collector.store.import_store import import_store

from .admin_target import collector_client
from .common import fail
from .target import Target, current_target, targeted

console = Console()

DirArgument = Annotated[
    Path, typer.Argument(help="Folder of the export (one .parquet per table, manifest.json).")
]


@targeted
def export(directory: DirArgument) -> None:
    """Write every table to DIR as Parquet, one file per table, plus manifest.json.

    Works on the file (--db) or through a running collector (--endpoint); with neither, the
    collector at http://127.0.0.1:4318 when one runs, else ./.loopwise/loopwise.duckdb.
    """
    if (directory / MANIFEST).exists():
        fail(f"{directory} already holds an export ({MANIFEST}); choose a new folder")
    target = current_target()
    if target.endpoint:
        _export_over_http(target, directory)
    else:
        assert target.db is not None
        if not target.db.exists():
            fail(f"no database at {target.db}")
        try:
            with Store(target.db) as store:
                export_store(store, directory)
        except (StoreError, ExportError, OSError) as exc:
            fail(str(exc))
    _print_tables(directory)


def import_(
    directory: DirArgument,
    db: Annotated[
        Path,
        typer.Option(
            "--db", help="DuckDB file to import into (created if missing; no collector may own it)."
        ),
    ] = DEFAULT_DB_PATH,
) -> None:
    """Import an export folder into a store (empty or not). Rows the store lacks are added,
    stored ones skipped, so importing twice changes nothing; an export from a newer schema,
    or one whose rows conflict with stored ones, is refused and nothing is written."""
    try:
        with Store(db) as store:
            report = import_store(store, directory)
    except (StoreError, ExportError, OSError) as exc:
        fail(str(exc))
    table = Table("table", "rows in export", "added")
    for name, counts in report.items():
        table.add_row(name, str(counts["rows"]), str(counts["added"]))
    console.print(table)
    added = sum(counts["added"] for counts in report.values())
    console.print(
        f"imported {directory} into {db}: {added} row(s) added", highlight=False, soft_wrap=True
    )


def _export_over_http(target: Target, directory: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="loopwise-export-") as scratch:
        archive = Path(scratch) / "export.tar"
        assert target.endpoint is not None
        with (
            collector_client(target.endpoint, target.api_key, timeout_s=3600.0) as client,
            client.stream("POST", "/api/admin/export") as response,
            archive.open("wb") as out,
        ):
            for chunk in response.iter_bytes():
                out.write(chunk)
        directory.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tar:
            tar.extractall(directory, filter="data")


def _print_tables(directory: Path) -> None:
    manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    table = Table("table", "rows", "file")
    for name, entry in manifest["tables"].items():
        table.add_row(name, str(entry["rows"]), entry["file"])
    console.print(table)
    console.print(
        f"exported {len(manifest['tables'])} tables to {directory} "
        f"(schema: {len(manifest['migrations'])} migrations)",
        highlight=False,
        soft_wrap=True,
    )
