"""Collector settings, from arguments or LOOPWISE_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..pricing import PRICES_ENV, PriceTable
from ..redact import RedactionConfig, redaction_from_env
from ..store import DEFAULT_DB_PATH
from .admission import (
    DEFAULT_MAX_INFLIGHT_BYTES,
    DEFAULT_MAX_INFLIGHT_REQUESTS,
    DEFAULT_TARGET_DRAIN_S,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4318
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_RETENTION_INTERVAL_S = 3600.0
RETENTION_ENV = "LOOPWISE_RETENTION_DAYS"


@dataclass(frozen=True)
class CollectorConfig:
    """Where the collector listens, which file it owns, and its limits.

    ``max_inflight_bytes`` and ``max_inflight_requests`` bound the OTLP work being read, decoded
    and written at once; past them a request is answered 503 with Retry-After straight away.
    Within ``max_inflight_bytes`` the byte budget follows the measured drain rate so admitted
    work drains in about ``target_drain_s`` (None: the fixed budget; see admission.py).
    ``prices_path`` is a price file applied over the shipped price table (see
    loopwise.collector.pricing); ``from_env`` reads it from LOOPWISE_PRICES. ``redaction``
    says what is redacted in each project before spans are stored (on for every built-in
    kind unless a config says otherwise; see loopwise.collector.redact and LOOPWISE_REDACT).
    ``retention_days`` (LOOPWISE_RETENTION_DAYS) makes the collector delete traces older than
    that, and what derives from them, at start and every ``retention_interval_s``.
    """

    db_path: Path = DEFAULT_DB_PATH
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    api_key: str | None = None
    default_project: str = "default"
    sql_timeout_s: float = 30.0
    prices_path: Path | None = None
    max_inflight_bytes: int = DEFAULT_MAX_INFLIGHT_BYTES
    max_inflight_requests: int = DEFAULT_MAX_INFLIGHT_REQUESTS
    target_drain_s: float | None = DEFAULT_TARGET_DRAIN_S
    redaction: RedactionConfig = field(default_factory=RedactionConfig)
    retention_days: float | None = None
    retention_interval_s: float = DEFAULT_RETENTION_INTERVAL_S

    @classmethod
    def from_env(cls, **overrides: object) -> CollectorConfig:
        """Settings from LOOPWISE_DB, LOOPWISE_API_KEY, LOOPWISE_MAX_BODY_BYTES,
        LOOPWISE_MAX_INFLIGHT_BYTES, LOOPWISE_TARGET_DRAIN_S (0: a fixed budget),
        LOOPWISE_PRICES, LOOPWISE_REDACT, LOOPWISE_RETENTION_DAYS, then overrides."""
        values: dict[str, object] = {}
        if os.environ.get("LOOPWISE_DB"):
            values["db_path"] = Path(os.environ["LOOPWISE_DB"])
        if os.environ.get("LOOPWISE_API_KEY"):
            values["api_key"] = os.environ["LOOPWISE_API_KEY"]
        if os.environ.get("LOOPWISE_MAX_BODY_BYTES"):
            values["max_body_bytes"] = int(os.environ["LOOPWISE_MAX_BODY_BYTES"])
        if os.environ.get("LOOPWISE_MAX_INFLIGHT_BYTES"):
            values["max_inflight_bytes"] = int(os.environ["LOOPWISE_MAX_INFLIGHT_BYTES"])
        if os.environ.get("LOOPWISE_TARGET_DRAIN_S"):
            drain = float(os.environ["LOOPWISE_TARGET_DRAIN_S"])
            values["target_drain_s"] = drain if drain > 0 else None
        if os.environ.get(PRICES_ENV):
            values["prices_path"] = Path(os.environ[PRICES_ENV])
        if "redaction" not in overrides or overrides["redaction"] is None:
            values["redaction"] = redaction_from_env()
        if os.environ.get(RETENTION_ENV):
            try:
                values["retention_days"] = float(os.environ[RETENTION_ENV])
            except ValueError:
                raise ValueError(
                    f"{RETENTION_ENV} must be a number of days, got {os.environ[RETENTION_ENV]!r}"
                ) from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def check(self) -> None:
        """Refuse settings that would expose the collector unprotected."""
        if self.host not in LOOPBACK_HOSTS and not self.api_key:
            raise ValueError(
                f"refusing to listen on {self.host} without an API key: "
                "set LOOPWISE_API_KEY or --api-key, or bind to 127.0.0.1"
            )
        if self.max_body_bytes <= 0:
            raise ValueError("max_body_bytes must be positive")
        if self.max_inflight_bytes <= 0 or self.max_inflight_requests <= 0:
            raise ValueError("max_inflight_bytes and max_inflight_requests must be positive")
        if self.target_drain_s is not None and not self.target_drain_s > 0:
            raise ValueError("target_drain_s must be positive (or None for a fixed budget)")
        if self.retention_days is not None and not self.retention_days > 0:
            raise ValueError(f"retention_days must be a positive number, got {self.retention_days}")
        if not self.retention_interval_s > 0:
            raise ValueError("retention_interval_s must be positive")
        if self.prices_path is not None:
            PriceTable.load(self.prices_path)  # PriceTableError (a ValueError) says what is wrong
