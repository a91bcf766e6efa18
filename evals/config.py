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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from .alert_config import AlertConfigError, AlertRule, alert_rules
from .declare import Evaluator
from .registry import Registry, UnknownEvaluator, default_registry
from .rules import AnomalyRule, Rule, RuleError, ThresholdRule, check_severity, rule_from_mapping
from .selectors import Selector, SelectorError
from .watermarks import config_key

ENV_PATH = "LOOPWISE_EVALS"
Start = Literal["beginning", "latest"]
_BINDING_KEYS = {"use", "params", "select", "flag", "name", "start", "settle_s"}
_SETTINGS = {
    "batch_size": int,
    "poll_interval_s": float,
    "cluster_interval_s": float,
    "include_defaults": bool,
    "scan_rows": int,
    "alert_interval_s": float,
    "dashboard_url": str,
}


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
    unknown = sorted(set(raw) - {"settings", "evaluators", "rules", "alerts"})
    if unknown:
        raise ConfigError(
            f"unknown top-level key {unknown[0]!r}; use settings, evaluators, rules, alerts"
        )
    try:
        alerts = alert_rules(raw.get("alerts"))
    except AlertConfigError as exc:
        raise ConfigError(str(exc)) from None
    registry = registry or default_registry()
    settings = _settings(raw.get("settings") or {})
    include_defaults = settings.pop("include_defaults", False)
    bindings: list[Binding] = []
    rules: list[Rule] = []
    for index, entry in enumerate(_entries(raw, "evaluators")):
        binding, rule = binding_from_mapping(entry, registry, where=f"evaluators[{index}]")
        bindings.append(binding)
        if rule is not None:
            rules.append(rule)
    for index, entry in enumerate(_entries(raw, "rules")):
        try:
            rules.append(rule_from_mapping(entry))
        except RuleError as exc:
            raise ConfigError(f"rules[{index}]: {exc}") from None
    if include_defaults:
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
    unknown = sorted(set(entry) - _BINDING_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(_BINDING_KEYS))}"
        )
    use = entry.get("use")
    if not isinstance(use, str) or not use:
        raise ConfigError(f"{where}: 'use' must name an evaluator")
    params = entry.get("params") or {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"{where}: params must be a table/object")
    try:
        evaluator = registry.create(use, params)
        selector = Selector.from_mapping(entry.get("select"))
        if entry.get("name"):
            evaluator = replace(evaluator, name=str(entry["name"]))
        severity = entry.get("flag")
        rule = None
        if severity is not None:
            rule = ThresholdRule(
                name=f"{evaluator.name}_failed",
                evaluator=evaluator.name,
                severity=check_severity(severity),
            )
    except (UnknownEvaluator, SelectorError, RuleError, ValueError, TypeError) as exc:
        raise ConfigError(f"{where} ({use}): {exc}") from None
    start = entry.get("start", "beginning")
    if start not in ("beginning", "latest"):
        raise ConfigError(f"{where}: start must be 'beginning' or 'latest', got {start!r}")
    settle = entry.get("settle_s", 0.0)
    if isinstance(settle, bool) or not isinstance(settle, int | float) or settle < 0:
        raise ConfigError(f"{where}: settle_s must be a number >= 0")
    return Binding(evaluator, selector, use, start, float(settle)), rule


def _entries(raw: Mapping[str, Any], key: str) -> Sequence[Mapping[str, Any]]:
    entries = raw.get(key) or []
    if not isinstance(entries, list):
        raise ConfigError(f"{key} must be a list of tables ([[{key}]])")
    return entries


def _settings(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigError("settings must be a table/object")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        kind = _SETTINGS.get(key)
        if kind is None:
            raise ConfigError(f"unknown setting {key!r}; allowed: {', '.join(sorted(_SETTINGS))}")
        if kind is bool and not isinstance(value, bool):
            raise ConfigError(f"setting {key} must be true or false")
        if kind is str and not isinstance(value, str):
            raise ConfigError(f"setting {key} must be a string")
        if kind in (int, float) and (
            isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
        ):
            raise ConfigError(f"setting {key} must be a positive number")
        out[key] = kind(value)
    return out


def _check_unique_rules(rules: Sequence[Rule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise ConfigError(f"two rules are named {rule.name!r}; rule names must be unique")
        seen.add(rule.name)
