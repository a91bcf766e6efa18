"""Alert webhooks, as configured in the evaluation config file::

[settings]
dashboard_url = "https://loopwise.internal:8501"   # links in alerts

[[alerts]]
url = "https://hooks.slack.com/services/..."       # Slack-compatible JSON, or any URL
events = ["new_cluster", "failure_rate", "held_waiting"]
project = "support-bot"          # optional: one project's events only
evaluator = "invented_identifiers"   # failure_rate: one evaluator (default: each)
threshold = 0.2                  # failure_rate: alert above this share of failures
window_minutes = 60              # failure_rate: over the last hour
min_scores = 20                  # failure_rate: not on a handful of scores
held_minutes = 10                # held_waiting: a held output waiting longer than this
secret_env = "LOOPWISE_ALERT_SECRET"   # HMAC-SHA256 signing key, read from the environment
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

EVENTS = ("new_cluster", "failure_rate", "held_waiting")
_KEYS = {
    "url",
    "events",
    "project",
    "evaluator",
    "threshold",
    "window_minutes",
    "min_scores",
    "held_minutes",
    "secret",
    "secret_env",
    "name",
}


class AlertConfigError(ValueError):
    """An [[alerts]] entry is invalid; the message names the entry and the problem."""


@dataclass(frozen=True)
class AlertRule:
    """One webhook and the events it hears about."""

    url: str
    events: tuple[str, ...] = EVENTS
    name: str = ""
    project: str | None = None
    evaluator: str | None = None
    threshold: float = 0.2
    window_minutes: float = 60.0
    min_scores: int = 20
    held_minutes: float = 10.0
    secret: str | None = None

    @property
    def key(self) -> str:
        """A stable name for this rule (its name, else its URL's host and path)."""
        if self.name:
            return self.name
        parsed = urlparse(self.url)
        return f"{parsed.netloc}{parsed.path}"


def alert_rules(raw: Any) -> tuple[AlertRule, ...]:
    """The [[alerts]] entries of a config mapping (an empty tuple when there are none)."""
    if raw is None:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise AlertConfigError("alerts must be a list of tables ([[alerts]])")
    return tuple(_rule(index, entry) for index, entry in enumerate(raw))


def _rule(index: int, entry: Any) -> AlertRule:
    where = f"alerts[{index}]"
    if not isinstance(entry, Mapping):
        raise AlertConfigError(f"{where} must be a table")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise AlertConfigError(f"{where}: unknown key {unknown[0]!r}")
    url = entry.get("url")
    if not isinstance(url, str) or urlparse(url).scheme not in ("http", "https"):
        raise AlertConfigError(f"{where}: url must be an http(s) URL")
    events = entry.get("events", list(EVENTS))
    if not isinstance(events, list) or not events or any(e not in EVENTS for e in events):
        raise AlertConfigError(f"{where}: events must be a list of {', '.join(EVENTS)}")
    secret = entry.get("secret")
    secret_env = entry.get("secret_env")
    if secret_env is not None:
        if not isinstance(secret_env, str):
            raise AlertConfigError(f"{where}: secret_env must name an environment variable")
        secret = os.environ.get(secret_env)
        if not secret:
            raise AlertConfigError(f"{where}: environment variable {secret_env} is not set")
    threshold = _number(entry, "threshold", 0.2, where)
    if not 0 <= threshold <= 1:
        raise AlertConfigError(f"{where}: threshold must be between 0 and 1")
    return AlertRule(
        url=url,
        events=tuple(events),
        name=_text(entry, "name", where) or "",
        project=_text(entry, "project", where),
        evaluator=_text(entry, "evaluator", where),
        threshold=threshold,
        window_minutes=_number(entry, "window_minutes", 60.0, where, positive=True),
        min_scores=int(_number(entry, "min_scores", 20, where, positive=True)),
        held_minutes=_number(entry, "held_minutes", 10.0, where, positive=True),
        secret=secret if isinstance(secret, str) and secret else None,
    )


def _text(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is not None and not isinstance(value, str):
        raise AlertConfigError(f"{where}: {key} must be a string")
    return value


def _number(
    entry: Mapping[str, Any], key: str, default: float, where: str, *, positive: bool = False
) -> float:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AlertConfigError(f"{where}: {key} must be a number")
    if positive and value <= 0:
        raise AlertConfigError(f"{where}: {key} must be positive")
    return float(value)
