"""``loopwise collect``: run the collector in the foreground."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from loopwise.collector.redact import load_redaction
from loopwise.collector.server import CollectorConfig, serve
from loopwise.collector.store.backend import BackendError, LakeBackend, parse_store
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
    fail,
)
from .target import DataPathOption, StoreOption

console = Console()


def collect(
    db: DbOption = DEFAULTS["db"],  # type: ignore[assignment]
    host: HostOption = DEFAULTS["host"],  # type: ignore[assignment]
    port: PortOption = DEFAULTS["port"],  # type: ignore[assignment]
    api_key: ApiKeyOption = None,
    redact: RedactOption = None,
    retention_days: RetentionOption = None,
    store: StoreOption = None,
    data_path: DataPathOption = None,
) -> None:
    """Run the collector in the foreground.

    OTLP/HTTP on POST /v1/traces (and /api/public/otel/v1/traces), the JSON API under /api,
    and /health. It is the only writer of the DuckDB file.

    With --store ducklake:postgres:<conninfo> --data-path DIR it is the ingest role of a
    lake: OTLP and /health only, and any number of collectors may write the same lake.
    """
    lake = _lake(store, data_path)
    if store is not None and lake is None:
        db = Path(store)
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
        if lake is not None:
            if retention_days is not None:
                fail("--retention-days is not supported on a ducklake store", code=2)
            console.print(
                f"loopwise lake collector on http://{host}:{port} → {lake.data_path}  "
                "(Ctrl-C to stop)",
                highlight=False,
            )
            from loopwise.collector.server.lake_app import serve_lake
            from loopwise.evals.api import read_routes

            serve_lake(config, lake, [lambda store: read_routes(lambda: store)])
            return
        console.print(
            f"loopwise collector on http://{host}:{port} → {db}  (Ctrl-C to stop)", highlight=False
        )
        serve(config, default_extensions())


def _lake(store: str | None, data_path: Path | None) -> LakeBackend | None:
    """The lake ``--store`` names, None for a file or no --store; bad settings exit."""
    if store is None:
        if data_path is not None:
            fail("--data-path applies only with --store ducklake:postgres:...", code=2)
        return None
    try:
        backend = parse_store(store, data_path)
    except BackendError as exc:
        fail(str(exc), code=2)
    return backend if isinstance(backend, LakeBackend) else None
