"""``loopwise delete``: delete by age, project or end user, with everything derived from it.

One transaction (all or nothing); the counts per table are printed. See docs/retention.md
for what is deleted and what is deliberately kept.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from loopwise.collector.store import Store, StoreError
from loopwise.collector.store.retention import RetentionError, Selection, delete_data, parse_age

from .admin_target import collector_client
from .common import fail
from .feedback_target import (
    FormatOption,
    OutputFormat,
    actor_name,
)
from .target import Target, current_target, targeted

console = Console()


@targeted
def delete(
    older_than: Annotated[
        str | None,
        typer.Option("--older-than", help="Traces that ended longer ago than this: 30d, 12h, 2w."),
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", help="Everything of one project.")
    ] = None,
    user: Annotated[
        str | None,
        typer.Option("--user", help="Everything about one end user (a privacy request)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")
    ] = False,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Delete stored data and what derives from it (scores, flags, reviews, corrections,
    dataset examples from those spans), printing the rows deleted per table.

    Conditions given together are combined: `--project P --older-than 30d` deletes P's
    traces older than 30 days. With neither --endpoint nor --db, goes through the collector
    at http://127.0.0.1:4318 when one runs, else works on ./.loopwise/loopwise.duckdb.
    """
    payload: dict[str, Any] = {"older_than": older_than, "project": project, "user_id": user}
    payload = {k: v for k, v in payload.items() if v is not None}
    try:
        selection = Selection(
            older_than=parse_age(older_than) if older_than is not None else None,
            project=project,
            user_id=user,
        )
    except RetentionError as exc:
        fail(f"{exc} (--older-than, --project or --user)", code=2)
    target = current_target()
    report = _over_http(target, payload, dry_run) if target.endpoint else None
    if report is None:
        report = _on_file(target, selection, dry_run)
    _print(report, output)


def _over_http(target: Target, payload: dict[str, Any], dry_run: bool) -> dict[str, Any]:
    assert target.endpoint is not None
    with collector_client(target.endpoint, target.api_key, timeout_s=600.0) as client:
        report: dict[str, Any] = client.call(
            "POST", "/api/admin/delete", json={**payload, "dry_run": dry_run}
        )
    return report


def _on_file(target: Target, selection: Selection, dry_run: bool) -> dict[str, Any]:
    assert target.db is not None
    if not target.db.exists():
        fail(f"no database at {target.db}")
    try:
        with Store(target.db) as store:
            return delete_data(store, selection, dry_run=dry_run, actor=actor_name(None)).to_dict()
    except StoreError as exc:
        fail(str(exc))


def _print(report: dict[str, Any], output: OutputFormat) -> None:
    if output is OutputFormat.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    table = Table("table", "deleted", "updated")
    names = sorted(set(report["deleted"]) | set(report["updated"]))
    for name in names:
        table.add_row(
            name, str(report["deleted"].get(name, "")), str(report["updated"].get(name, ""))
        )
    console.print(table)
    for note in report["notes"]:
        console.print(f"kept: {note}", highlight=False, markup=False, soft_wrap=True)
    verb = "would delete" if report["dry_run"] else "deleted"
    console.print(f"{verb} {report['total_deleted']} row(s)", highlight=False, soft_wrap=True)
