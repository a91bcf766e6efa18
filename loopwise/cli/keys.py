"""``loopwise keys``: per-project API keys (create prints the key once, as its last line)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote

import typer

from loopwise.collector.api_errors import ApiError
from loopwise.collector.store import DEFAULT_DB_PATH, Store, StoreError
from loopwise.collector.store.api_keys import ROLES, ApiKeyError, create_key, list_keys, revoke_key
from loopwise.feedback import HttpBackend

from .common import fail
from .feedback_target import (
    FormatOption,
    OutputFormat,
    actor_name,
    console,
    print_json,
    print_table,
)
from .target import TargetTyper, current_target

app = TargetTyper(
    help="Per-project API keys: once one exists, every route but /health needs a key.",
    no_args_is_help=True,
)

KEY_COLUMNS = ("key_id", "project", "role", "name", "created_by", "created_at", "active")


@contextlib.contextmanager
def _keys_store() -> Iterator[Any]:
    # Keys are never managed on a guessed target: --db or --endpoint must be given.
    where = current_target(probe=False)
    try:
        target: Any = (
            HttpBackend(where.endpoint, where.api_key)
            if where.endpoint
            else Store(where.db or DEFAULT_DB_PATH)
        )
    except (StoreError, OSError) as exc:
        fail(str(exc))
    try:
        yield target
    except (ApiKeyError, StoreError) as exc:
        fail(str(exc))
    except ApiError as exc:
        fail(exc.message)
    finally:
        target.close()


@app.command("create")
def create(
    project: Annotated[str, typer.Option("--project", help="The project the key belongs to.")],
    role: Annotated[
        str, typer.Option("--role", help=f"{', '.join(ROLES)} (admin: both, plus reviews).")
    ] = "ingest",
    name: Annotated[
        str, typer.Option("--name", help="Who or what holds it (recorded as reviewer name).")
    ] = "",
) -> None:
    """Create a key; the secret is printed once, as the last line, and never stored."""
    if role not in ROLES:
        fail(f"--role must be one of {', '.join(ROLES)}", code=2)
    with _keys_store() as target:
        if isinstance(target, Store):
            made = create_key(
                target, project=project, role=role, name=name, created_by=actor_name(None)
            )
            record, token = made.key.to_dict(), made.token
        else:
            answer = target.call(
                "POST", "/api/keys", body={"project": project, "role": role, "name": name}
            )
            record, token = answer, answer["token"]
    console.print(
        f"created key {record['key_id']} ({record['role']}) for project {record['project']}"
    )
    console.print("store it now: it is shown only this once", style="dim")
    print(token)


@app.command("list")
def list_all(
    project: Annotated[str | None, typer.Option("--project")] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Every key, active and revoked, without secrets."""
    with _keys_store() as target:
        if isinstance(target, Store):
            rows = [k.to_dict() for k in list_keys(target, project=project)]
        else:
            rows = target.call("GET", "/api/keys", query={"project": project})
    if output is OutputFormat.json:
        print_json(rows)
    else:
        print_table(rows, KEY_COLUMNS)


@app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (from keys list).")],
) -> None:
    """Revoke a key: requests with it are refused from now on."""
    with _keys_store() as target:
        if isinstance(target, Store):
            revoke_key(target, key_id)
        else:
            target.call("POST", f"/api/keys/{quote(key_id, safe='')}/revoke", body={})
    console.print(f"revoked key {key_id}")
