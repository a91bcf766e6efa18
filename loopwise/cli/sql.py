"""``loopwise sql``: run one read-only SELECT through the collector's API, or on the file."""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from loopwise.collector.store import QueryRejected, Store, StoreError
from loopwise.collector.store.backend import BackendError, LakeBackend
from loopwise.collector.store.lake_store import LakeStore

from .admin_target import collector_client
from .common import err_console, fail
from .target import current_target, targeted

console = Console()


class OutputFormat(StrEnum):
    """How query results are printed."""

    table = "table"
    csv = "csv"
    json = "json"


@targeted
def sql(
    query: Annotated[
        str, typer.Argument(help='One SELECT statement, e.g. "select name, kind from spans".')
    ],
    output: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="table, csv (header line, then rows) or json."),
    ] = OutputFormat.table,
) -> None:
    """Run one read-only SELECT over the store.

    With --store ducklake:postgres:... --data-path DIR, reads the lake (one snapshot).
    With neither --endpoint nor --db/--store, asks the collector at http://127.0.0.1:4318 when one
    runs, else reads ./.loopwise/loopwise.duckdb.
    """
    target = current_target(lake_ok=True)
    if target.endpoint is not None:
        columns, rows = _from_api(query, target.endpoint, target.api_key)
    else:
        columns, rows = _from_store(query, target.lake or target.db)
    _print(columns, rows, output)


def _from_api(query: str, endpoint: str, api_key: str | None) -> tuple[list[str], list[list[Any]]]:
    with collector_client(endpoint, api_key) as client:
        payload = client.call("POST", "/api/sql", json={"sql": query})
    if payload.get("truncated"):
        _warn_truncated(len(payload["rows"]))
    return list(payload["columns"]), [list(r) for r in payload["rows"]]


def _warn_truncated(shown: int) -> None:
    err_console.print(f"[yellow]showing the first {shown} rows; add a LIMIT or aggregate[/]")


def _from_store(query: str, where: LakeBackend | Path | None) -> tuple[list[str], list[list[Any]]]:
    """Run ``query`` on the lake or the DuckDB file ``where`` names, read-only."""
    assert where is not None
    try:
        with (
            LakeStore(where)
            if isinstance(where, LakeBackend)
            else Store(where, read_only=True) as store
        ):
            result = store.select(query)
    except (QueryRejected, BackendError, StoreError) as exc:
        fail(str(exc))
    except Exception as exc:  # DuckDB binder and catalog errors belong to the query
        fail(str(exc).strip().splitlines()[0])
    if result.truncated:
        _warn_truncated(len(result.rows))
    return result.columns, [list(r) for r in result.rows]


def _print(columns: list[str], rows: list[list[Any]], output: OutputFormat) -> None:
    if output is OutputFormat.json:
        records = [dict(zip(columns, row, strict=True)) for row in rows]
        sys.stdout.write(json.dumps(records, default=str, ensure_ascii=False, indent=2) + "\n")
    elif output is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
    else:
        table = Table(*columns, show_lines=False)
        for row in rows:
            # Text(), not str: stored values are untrusted and must not be read as markup.
            table.add_row(*(Text("" if v is None else str(v)) for v in row))
        console.print(table)
        console.print(f"{len(rows)} row(s)", style="dim")
