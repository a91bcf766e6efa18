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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlparse

from pydantic import Field, field_validator

from ..collector.config_models import ConfigModel, Count, EmptyIsAbsent, validated

Event = Literal["new_cluster", "failure_rate", "held_waiting"]
EVENTS: tuple[Event, ...] = get_args(Event)


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


class AlertEntry(ConfigModel):
    """One ``[[alerts]]`` entry as written in the config file."""

    url: str
    events: list[Event] = Field(default_factory=lambda: list(EVENTS), min_length=1)
    project: str | None = None
    evaluator: str | None = None
    threshold: float = Field(default=0.2, ge=0, le=1)
    window_minutes: float = Field(default=60.0, gt=0)
    min_scores: Count = 20
    held_minutes: float = Field(default=10.0, gt=0)
    secret: Annotated[str | None, EmptyIsAbsent] = None
    secret_env: str | None = None
    name: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if urlparse(url).scheme not in ("http", "https"):
            raise ValueError(f"must be an http(s) URL, got {url!r}")
        return url

    def rule(self, where: str) -> AlertRule:
        """The rule, its secret read from ``secret_env`` when that is given."""
        secret = self.secret
        if self.secret_env is not None:
            secret = os.environ.get(self.secret_env)
            if not secret:
                raise AlertConfigError(
                    f"{where}.secret_env: environment variable {self.secret_env} is not set"
                )
        return AlertRule(
            url=self.url,
            events=tuple(self.events),
            name=self.name or "",
            project=self.project,
            evaluator=self.evaluator,
            threshold=self.threshold,
            window_minutes=self.window_minutes,
            min_scores=self.min_scores,
            held_minutes=self.held_minutes,
            secret=secret or None,
        )


class _Alerts(ConfigModel):
    alerts: list[AlertEntry] | None = None


def alert_rules(raw: Any) -> tuple[AlertRule, ...]:
    """The [[alerts]] entries of a config mapping (an empty tuple when there are none)."""
    entries = validated(_Alerts, {"alerts": raw}, AlertConfigError).alerts
    return rules_from_entries(entries or ())


def rules_from_entries(entries: Sequence[AlertEntry]) -> tuple[AlertRule, ...]:
    """The rules of already validated ``[[alerts]]`` entries."""
    return tuple(entry.rule(f"alerts[{index}]") for index, entry in enumerate(entries))
