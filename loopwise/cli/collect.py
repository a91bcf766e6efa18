"""``loopwise collect``: run the collector in the foreground."""

from __future__ import annotations

from rich.console import Console

from loopwise.collector.redact import load_redaction
from loopwise.collector.server import CollectorConfig, serve
from loopwise.extensions import default_extensions

from .common import (
    DEFAULTS,
    ApiKeyOption,
    DbOption,
    HostOption,
    PortOption,
    RedactOption,
    RetentionOption,
    clean_errors,
)

console = Console()


def collect(
    db: DbOption = DEFAULTS["db"],  # type: ignore[assignment]
    host: HostOption = DEFAULTS["host"],  # type: ignore[assignment]
    port: PortOption = DEFAULTS["port"],  # type: ignore[assignment]
    api_key: ApiKeyOption = None,
    redact: RedactOption = None,
    retention_days: RetentionOption = None,
) -> None:
    """Run the collector in the foreground.

    OTLP/HTTP on POST /v1/traces (and /api/public/otel/v1/traces), the JSON API under /api,
    and /health. It is the only writer of the DuckDB file.
    """
    with clean_errors():
        redaction = load_redaction(redact) if redact else None
        config = CollectorConfig.from_env(
            db_path=db,
            host=host,
            port=port,
            api_key=api_key,
            redaction=redaction,
            retention_days=retention_days,
        )
        config.check()
        console.print(
            f"loopwise collector on http://{host}:{port} → {db}  (Ctrl-C to stop)", highlight=False
        )
        serve(config, default_extensions())
