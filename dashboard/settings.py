"""Where the dashboard finds the collector: LOOPWISE_ENDPOINT, LOOPWISE_API_KEY, and how long
it waits for an answer: LOOPWISE_TIMEOUT_S (seconds, default 5)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from .api import DEFAULT_TIMEOUT_S, CollectorAPI

DEFAULT_ENDPOINT = "http://127.0.0.1:4318"


@dataclass(frozen=True)
class DashboardSettings:
    """The collector's base URL, its API key (if it needs one) and the request timeout."""

    endpoint: str = DEFAULT_ENDPOINT
    api_key: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DashboardSettings:
        """Settings from LOOPWISE_ENDPOINT (default http://127.0.0.1:4318), LOOPWISE_API_KEY
        and LOOPWISE_TIMEOUT_S (a positive number of seconds; anything else means 5)."""
        env = os.environ if environ is None else environ
        endpoint = env.get("LOOPWISE_ENDPOINT", "").strip() or DEFAULT_ENDPOINT
        return cls(
            endpoint=endpoint.rstrip("/"),
            api_key=env.get("LOOPWISE_API_KEY") or None,
            timeout_s=_positive_seconds(env.get("LOOPWISE_TIMEOUT_S")),
        )

    def connect(self) -> CollectorAPI:
        """A new API client for these settings; close it (or use ``with``) when done."""
        return CollectorAPI(self.endpoint, self.api_key, self.timeout_s)


def _positive_seconds(raw: str | None) -> float:
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return value if 0 < value < float("inf") else DEFAULT_TIMEOUT_S
