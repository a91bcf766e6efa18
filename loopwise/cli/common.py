"""Options and error handling shared by the CLI commands."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from loopwise.collector.server import DEFAULT_HOST, DEFAULT_PORT
from loopwise.collector.store import DEFAULT_DB_PATH

err_console = Console(stderr=True)

DbOption = Annotated[
    Path,
    typer.Option(
        "--db",
        envvar="LOOPWISE_DB",
        help="DuckDB file the collector owns (created if missing).",
        dir_okay=False,
    ),
]
HostOption = Annotated[
    str,
    typer.Option("--host", help="Interface to listen on. Anything but loopback needs --api-key."),
]
PortOption = Annotated[
    int, typer.Option("--port", min=0, max=65535, help="OTLP/HTTP and API port.")
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="LOOPWISE_API_KEY",
        help="Require this key (Bearer, x-api-key or Basic auth) on every request but /health.",
    ),
]

RedactOption = Annotated[
    str | None,
    typer.Option(
        "--redact",
        envvar="LOOPWISE_REDACT",
        help=(
            "Redaction config (TOML or JSON, per project), or 'off'. Default: emails, phone "
            "numbers, card numbers, API keys and secrets are redacted before spans are stored."
        ),
    ),
]
RetentionOption = Annotated[
    float | None,
    typer.Option(
        "--retention-days",
        envvar="LOOPWISE_RETENTION_DAYS",
        help="Delete traces older than this many days (and what derives from them), hourly.",
    ),
]

DEFAULTS = {"db": DEFAULT_DB_PATH, "host": DEFAULT_HOST, "port": DEFAULT_PORT}


def collector_running(endpoint: str) -> bool:
    """True when a collector answers /health at ``endpoint`` within a second."""
    from loopwise.collector.api_errors import ApiError
    from loopwise.collector.client import CollectorClient

    try:
        with CollectorClient(endpoint, timeout_s=1.0, retries=0) as client:
            client.call("GET", "/health")
    except ApiError:
        return False
    return True


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear line to stderr and exit non-zero."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def clean_errors() -> Iterator[None]:
    """Turn expected failures (bad settings, busy ports, locked files) into one-line errors."""
    from loopwise.collector.store import StoreError

    try:
        yield
    except (ValueError, OSError, StoreError) as exc:
        fail(str(exc))


def time_option(text: str | None, option: str) -> str | None:
    """A --since/--until value (ISO 8601 or a duration ago such as 2h) as naive-UTC ISO text;
    a usage error (exit 2) naming the option otherwise."""
    if not text:
        return None
    from loopwise.collector.times import time_or_ago

    try:
        return time_or_ago(text).isoformat()
    except ValueError as exc:
        fail(f"{option}: {exc}", code=2)
