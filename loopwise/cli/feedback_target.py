"""What the feedback commands (review, dataset, prompt, calibrate) share: the backend their
target gives (``target.current_target``), who is acting, and printing results."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import sys
from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from loopwise.collector.api_errors import ApiError
from loopwise.collector.sdk import DEFAULT_ENDPOINT
from loopwise.collector.store import StoreError
from loopwise.feedback import Backend, Conflict, HttpBackend, LocalBackend

from .common import fail
from .target import current_target

console = Console()
CONFLICT_EXIT_CODE = 3


class OutputFormat(StrEnum):
    """How results are printed."""

    table = "table"
    json = "json"


ActorOption = Annotated[
    str | None,
    typer.Option(
        "--actor", envvar="LOOPWISE_ACTOR", help="Who is acting (default: your login name)."
    ),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="table or json.")]
ExpectOption = Annotated[
    int | None,
    typer.Option(
        "--expect",
        min=0,
        help="The version you saw; refused (exit code 3) if someone changed it since.",
    ),
]


def actor_name(actor: str | None) -> str:
    """The acting person: --actor, $LOOPWISE_ACTOR, else the login name."""
    if actor:
        return actor
    try:
        return getpass.getuser()
    except Exception:
        return os.environ.get("USER") or "unknown"


@contextlib.contextmanager
def open_backend() -> Iterator[Backend]:
    """The running command's target (``current_target()``) as a feedback backend. Feedback
    errors become one-line messages (exit code 3 for a conflict, 1 otherwise)."""
    target = current_target()
    try:
        if target.db is not None:
            backend: Backend = LocalBackend(target.db)
        else:
            backend = HttpBackend(target.endpoint or DEFAULT_ENDPOINT, target.api_key)
    except (StoreError, OSError) as exc:
        fail(str(exc))
    try:
        yield backend
    except Conflict as exc:
        fail(f"conflict: {exc.message}", code=CONFLICT_EXIT_CODE)
    except ApiError as exc:  # the feedback family, or the collector client's
        fail(exc.message)
    except StoreError as exc:
        fail(str(exc))
    finally:
        backend.close()


def print_json(data: Any) -> None:
    """Print JSON to stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def cell(value: Any, limit: int = 80) -> Text:
    """A table cell: stored text is untrusted, so never read as markup; long text is cut."""
    if value is None:
        return Text("")
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return Text(text if len(text) <= limit else text[: limit - 1] + "…")


def print_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], *, title: str | None = None
) -> None:
    """Print ``columns`` of ``rows`` as a table, and the row count. Id columns are never cut
    (an id is something to copy into the next command): other columns wrap instead."""
    table = Table(title=title)
    for column in columns:
        if column == "id" or column.endswith("_id"):
            width = max([len(column), *(len(cell(row.get(column))) for row in rows)])
            table.add_column(column, no_wrap=True, min_width=width)
        else:
            table.add_column(column)
    for row in rows:
        table.add_row(*(cell(row.get(column)) for column in columns))
    console.print(table)
    console.print(f"{len(rows)} row(s)", style="dim")


def print_text(text: str, style: str | None = None) -> None:
    """Print untrusted text verbatim (no markup, no highlighting)."""
    console.print(Text(text, style=style or ""), highlight=False, soft_wrap=True)


def print_diff(diff: str) -> None:
    """Print a unified diff with added lines green and removed lines red."""
    for line in diff.splitlines():
        style = None
        if line.startswith("+") and not line.startswith("+++"):
            style = "green"
        elif line.startswith("-") and not line.startswith("---"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        print_text(line, style)


def parse_pairs(pairs: Sequence[str], what: str) -> dict[str, str]:
    """``["a=b", "c=d"]`` as ``{"a": "b", "c": "d"}``; exits with a clear error otherwise."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"{what} must look like NAME=VALUE, got {pair!r}", code=2)
        out[key.strip()] = value.strip()
    return out
