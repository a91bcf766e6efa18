"""``loopwise audit``: the append-only log of administrative actions (label moves, proposal
adoptions and rejections; key and deletion commands add theirs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from loopwise.collector.store import AuditError, Store, StoreError, audit_entries
from loopwise.collector.times import parse_utc

from .admin_target import collector_client
from .common import fail, time_option
from .feedback_target import (
    FormatOption,
    OutputFormat,
    print_json,
    print_table,
)
from .target import TargetTyper, current_target

app = TargetTyper(help="Who did which administrative action, and when.", no_args_is_help=True)

COLUMNS = ("seq", "created_at", "actor", "action", "target", "project", "details")


@app.command("list")
def list_entries(
    action: Annotated[
        str | None, typer.Option("--action", help="Exact, or a prefix such as 'prompt'.")
    ] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Who acted.")] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="e.g. prompt:support-reply")
    ] = None,
    project: Annotated[str | None, typer.Option("--project")] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO time (UTC) or 2h, 7d.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO time (UTC) or 2h, 7d.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Entries newest first, through --endpoint, the file --db, else the local collector
    when one runs, else ./.loopwise/loopwise.duckdb."""
    query: dict[str, Any] = {
        "action": action,
        "actor": actor,
        "target": target,
        "project": project,
        "since": time_option(since, "--since"),
        "until": time_option(until, "--until"),
        "limit": limit,
    }
    where = current_target()
    if where.endpoint is not None:
        rows = _over_http(where.endpoint, where.api_key, query)
    else:
        assert where.db is not None
        rows = _on_file(where.db, query)
    if output is OutputFormat.json:
        print_json(rows)
    else:
        print_table(rows, COLUMNS)


def _over_http(endpoint: str, api_key: str | None, query: dict[str, Any]) -> list[Any]:
    with collector_client(endpoint, api_key) as client:
        payload = client.call("GET", "/api/audit", params=query)
    entries = payload.get("entries") if isinstance(payload, dict) else None
    return entries if isinstance(entries, list) else []


def _on_file(path: Path, query: dict[str, Any]) -> list[Any]:
    if not path.exists():
        fail(f"no database at {path}")
    since, until = query.pop("since"), query.pop("until")
    try:
        with Store(path, read_only=True) as store:
            entries = audit_entries(
                store,
                since=parse_utc(since) if since else None,
                until=parse_utc(until) if until else None,
                **query,
            )
    except (StoreError, AuditError) as exc:
        fail(str(exc))
    return [entry.to_dict() for entry in entries]
