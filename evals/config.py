"""Online evaluation config: which evaluators run on which spans, and which rules flag.

From a TOML or JSON file (``LOOPWISE_EVALS``), else the default set (defaults.py)::

    [settings]
    batch_size = 2000          # spans per evaluator per step
    include_defaults = true    # keep the default set and add the entries below

    [[evaluators]]
    use = "valid_json"                          # a registered name or "module:attribute"
    params = { only_when_requested = true }     # a factory's options
    select = { kind = "llm", name = "classify*", sample_rate = 0.5 }
    flag = "high"                               # flag failures with this severity

    [[rules]]
    type = "anomaly"
    metric = "duration_ms"
    select = { kind = ["llm", "tool"] }

    [[alerts]]                     # webhooks: see alert_config.py
    url = "https://hooks.slack.com/services/..."
    events = ["new_cluster", "failure_rate", "held_waiting"]
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from ..collector.config_models import ConfigModel, Count, EmptyIsAbsent, validated
from .alert_config import AlertConfigError, AlertEntry, AlertRule, rules_from_entries
from .declare import Evaluator
from .registry import Registry, UnknownEvaluator, default_registry
from .rules import AnomalyRule, Rule, RuleError, ThresholdRule, check_severity, rule_from_mapping
from .selectors import Selector, SelectorError
from .watermarks import config_key

ENV_PATH = "LOOPWISE_EVALS"
Start = Literal["beginning", "latest"]
PositiveSeconds = Annotated[float, Field(gt=0)]


class ConfigError(ValueError):
    """The evaluation config is invalid; the message names the entry and the problem."""


@dataclass(frozen=True)
class Binding:
    """One evaluator attached to a selector, as the online worker runs it.

    ``start = "latest"`` skips spans stored before the binding first ran. ``settle_s`` waits
    that long after a span is stored before scoring it (for evaluators reading the rest of
    the trace when spans of one trace arrive from several services).
    """

    evaluator: Evaluator
    selector: Selector = field(default_factory=Selector)
    use: str = ""
    start: Start = "beginning"
    settle_s: float = 0.0

    @property
    def definition(self) -> dict[str, Any]:
        """What identifies this binding's work (its watermark and score ids hang on it)."""
        return {
            "use": self.use or self.evaluator.name,
            "name": self.evaluator.name,
            "version": self.evaluator.version,
            "params": dict(self.evaluator.params),
            "select": self.selector.to_dict(),
        }

    @property
    def key(self) -> str:
        """The watermark key: a hash of the definition."""
        return config_key("evaluator", self.definition)


@dataclass(frozen=True)
class EvalsConfig:
    """Bindings, rules and the worker's pacing."""

    bindings: tuple[Binding, ...] = ()
    rules: tuple[Rule, ...] = ()
    batch_size: int = 2000
    scan_rows: int = 50_000
    poll_interval_s: float = 1.0
    cluster_interval_s: float = 60.0
    source: str = "default"
    alerts: tuple[AlertRule, ...] = ()
    alert_interval_s: float = 30.0
    dashboard_url: str = "http://127.0.0.1:8501"

    @property
    def threshold_rules(self) -> tuple[ThresholdRule, ...]:
        """The rules reading scores."""
        return tuple(r for r in self.rules if isinstance(r, ThresholdRule))

    @property
    def anomaly_rules(self) -> tuple[AnomalyRule, ...]:
        """The rules reading span metrics."""
        return tuple(r for r in self.rules if isinstance(r, AnomalyRule))


# The settings' defaults are EvalsConfig's (the Settings model below only parses them).
_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(EvalsConfig)}


class Settings(ConfigModel):
    """``[settings]``: the worker's pacing, and whether to keep the default set."""

    batch_size: Count = _DEFAULTS["batch_size"]
    poll_interval_s: PositiveSeconds = _DEFAULTS["poll_interval_s"]
    cluster_interval_s: PositiveSeconds = _DEFAULTS["cluster_interval_s"]
    include_defaults: bool = False
    scan_rows: Count = _DEFAULTS["scan_rows"]
    alert_interval_s: PositiveSeconds = _DEFAULTS["alert_interval_s"]
    dashboard_url: str = _DEFAULTS["dashboard_url"]


class BindingEntry(ConfigModel):
    """One ``[[evaluators]]`` entry as written in the config file."""

    use: str = Field(min_length=1)
    params: Annotated[dict[str, Any] | None, EmptyIsAbsent] = None
    select: dict[str, Any] | None = None
    flag: str | None = None
    name: Annotated[str | None, EmptyIsAbsent] = None
    start: Start = "beginning"
    settle_s: float = Field(default=0.0, ge=0)


class EvalsFile(ConfigModel):
    """The whole file."""

    settings: Annotated[Settings | None, EmptyIsAbsent] = None
    evaluators: Annotated[list[BindingEntry] | None, EmptyIsAbsent] = None
    rules: Annotated[list[dict[str, Any]] | None, EmptyIsAbsent] = None
    alerts: list[AlertEntry] | None = None


def load_config(path: str | Path, registry: Registry | None = None) -> EvalsConfig:
    """Read a TOML (``.toml``) or JSON config file."""
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read evaluation config {file}: {exc.strerror or exc}") from None
    try:
        raw = json.loads(text) if file.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"{file} is not valid {file.suffix[1:].upper() or 'TOML'}: {exc}"
        ) from None
    return config_from_mapping(raw, registry, source=str(file))


def config_from_env(registry: Registry | None = None) -> EvalsConfig:
    """The config named by ``LOOPWISE_EVALS``, else the default set."""
    path = os.environ.get(ENV_PATH)
    if path:
        return load_config(path, registry)
    from .defaults import default_config

    return default_config(registry)


def config_from_mapping(
    raw: Mapping[str, Any], registry: Registry | None = None, *, source: str = "inline"
) -> EvalsConfig:
    """A config from parsed TOML/JSON."""
    if not isinstance(raw, Mapping):
        raise ConfigError("the evaluation config must be a table/object at the top")
    parsed = validated(EvalsFile, dict(raw), ConfigError)
    try:
        alerts = rules_from_entries(parsed.alerts or ())
    except AlertConfigError as exc:
        raise ConfigError(str(exc)) from None
    registry = registry or default_registry()
    given = parsed.settings or Settings()
    settings = given.model_dump(exclude_unset=True, exclude={"include_defaults"})
    bindings: list[Binding] = []
    rules: list[Rule] = []
    for index, entry in enumerate(parsed.evaluators or ()):
        binding, rule = _binding(entry, registry, where=f"evaluators[{index}]")
        bindings.append(binding)
        if rule is not None:
            rules.append(rule)
    for index, rule_entry in enumerate(parsed.rules or ()):
        try:
            rules.append(rule_from_mapping(rule_entry))
        except RuleError as exc:
            raise ConfigError(f"rules[{index}]: {exc}") from None
    if given.include_defaults:
        from .defaults import default_config

        defaults = default_config(registry)
        bindings = [*defaults.bindings, *bindings]
        rules = [*defaults.rules, *rules]
    _check_unique_rules(rules)
    return EvalsConfig(tuple(bindings), tuple(rules), source=source, alerts=alerts, **settings)


def binding_from_mapping(
    entry: Mapping[str, Any], registry: Registry, *, where: str = "evaluator"
) -> tuple[Binding, ThresholdRule | None]:
    """One ``[[evaluators]]`` entry: the binding, and its ``flag`` rule if any."""
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: must be a table/object")
    return _binding(
        validated(BindingEntry, dict(entry), ConfigError, where=where), registry, where=where
    )


def _binding(
    entry: BindingEntry, registry: Registry, *, where: str
) -> tuple[Binding, ThresholdRule | None]:
    use = entry.use
    try:
        evaluator = registry.create(use, entry.params or {})
        selector = Selector.from_mapping(entry.select)
        if entry.name:
            evaluator = replace(evaluator, name=entry.name)
        rule = None
        if entry.flag is not None:
            rule = ThresholdRule(
                name=f"{evaluator.name}_failed",
                evaluator=evaluator.name,
                severity=check_severity(entry.flag),
            )
    except (UnknownEvaluator, SelectorError, RuleError, ValueError, TypeError) as exc:
        raise ConfigError(f"{where} ({use}): {exc}") from None
    return Binding(evaluator, selector, use, entry.start, entry.settle_s), rule


def _check_unique_rules(rules: Sequence[Rule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise ConfigError(f"two rules are named {rule.name!r}; rule names must be unique")
        seen.add(rule.name)
