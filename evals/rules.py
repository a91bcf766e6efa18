"""Rules that turn scores and span metrics into flags.

A ``ThresholdRule`` opens a flag for a score of one evaluator that failed, fell below or
rose above a value, or carries a label. An ``AnomalyRule`` opens a flag for a span whose
latency, tokens or cost is far above what is usual for its span name (see anomaly.py).

Each flag has a ``cause_key`` = ``rule | trace_id | span_id``: the same rule on the same
span opens one flag, however often the span is re-scored or by which evaluator version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .selectors import Selector, SelectorError

Severity = Literal["low", "medium", "high"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high")
Condition = Literal["failed", "below", "above", "label"]
METRICS = ("duration_ms", "total_tokens", "input_tokens", "output_tokens", "cost_usd")
METRIC_UNITS = {"duration_ms": " ms", "cost_usd": " USD"}
DEFAULT_ANOMALY_KINDS = ("llm", "tool", "retriever", "embedding")


class RuleError(ValueError):
    """A rule definition is invalid; the message says which part."""


def check_severity(value: Any) -> Severity:
    """``value`` if it is low, medium or high."""
    if value not in SEVERITIES:
        raise RuleError(f"severity must be low, medium or high, got {value!r}")
    return value  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ThresholdRule:
    """Flag scores of ``evaluator`` that meet ``when``: ``failed`` (passed is false),
    ``below`` / ``above`` ``value``, or ``label`` in ``labels``. Errored scores never match:
    an undecided score is not a failure (the evaluator status shows it instead)."""

    name: str
    evaluator: str
    when: Condition = "failed"
    value: float | None = None
    labels: tuple[str, ...] = ()
    severity: Severity = "medium"

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise RuleError("a rule needs a name")
        if not self.evaluator or not isinstance(self.evaluator, str):
            raise RuleError(f"rule {self.name}: name the evaluator whose scores it reads")
        if self.when not in ("failed", "below", "above", "label"):
            raise RuleError(
                f"rule {self.name}: when must be failed, below, above or label, got {self.when!r}"
            )
        if self.when in ("below", "above") and not isinstance(self.value, int | float):
            raise RuleError(f"rule {self.name}: when = {self.when!r} needs a numeric value")
        if self.when == "label" and not self.labels:
            raise RuleError(f"rule {self.name}: when = 'label' needs labels = [...]")
        check_severity(self.severity)

    def condition_sql(self) -> tuple[str, list[Any]]:
        """The rule as a SQL condition on score rows (value, passed, label, status)."""
        base = "status = 'ok'"
        if self.when == "failed":
            return f"{base} AND passed = false", []
        if self.when == "below":
            return f"{base} AND value < ?", [self.value]
        if self.when == "above":
            return f"{base} AND value > ?", [self.value]
        return f"{base} AND label IN ({', '.join('?' * len(self.labels))})", list(self.labels)

    def describe(self) -> str:
        """What the rule flags, in words."""
        if self.when == "failed":
            return f"{self.evaluator} failed"
        if self.when == "label":
            return f"{self.evaluator} label in {', '.join(self.labels)}"
        return f"{self.evaluator} value {self.when} {self.value:g}"

    def to_dict(self) -> dict[str, Any]:
        """The rule as config."""
        out: dict[str, Any] = {"type": "threshold", "name": self.name, "evaluator": self.evaluator}
        out.update(when=self.when, severity=self.severity)
        if self.value is not None:
            out["value"] = self.value
        if self.labels:
            out["labels"] = list(self.labels)
        return out


@dataclass(frozen=True)
class AnomalyRule:
    """Flag spans whose ``metric`` is an outlier *above* the usual for their (project, span
    name): robust z-score ``0.6745 * (x - median) / MAD`` at least ``threshold`` over the
    last ``baseline`` spans of that name, and also at least ``min_ratio`` times the median
    and ``min_delta`` above it (so tight distributions do not flag noise). Groups with fewer
    than ``min_samples`` spans wait until they have enough; their spans are judged then."""

    name: str
    metric: str = "duration_ms"
    selector: Selector = field(default_factory=lambda: Selector(kinds=DEFAULT_ANOMALY_KINDS))
    threshold: float = 3.5
    min_ratio: float = 2.0
    min_delta: float = 0.0
    min_samples: int = 20
    baseline: int = 1000
    severity: Severity = "medium"

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise RuleError("a rule needs a name")
        if self.metric not in METRICS:
            raise RuleError(
                f"rule {self.name}: metric must be one of {', '.join(METRICS)}, got {self.metric!r}"
            )
        for key in ("threshold", "min_ratio", "min_delta"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise RuleError(f"rule {self.name}: {key} must be a number >= 0, got {value!r}")
        for key in ("min_samples", "baseline"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 3:
                raise RuleError(f"rule {self.name}: {key} must be an integer >= 3, got {value!r}")
        if self.baseline < self.min_samples:
            raise RuleError(f"rule {self.name}: baseline must be at least min_samples")
        check_severity(self.severity)

    def to_dict(self) -> dict[str, Any]:
        """The rule as config."""
        return {
            "type": "anomaly",
            "name": self.name,
            "metric": self.metric,
            "select": self.selector.to_dict(),
            "threshold": self.threshold,
            "min_ratio": self.min_ratio,
            "min_delta": self.min_delta,
            "min_samples": self.min_samples,
            "baseline": self.baseline,
            "severity": self.severity,
        }


Rule = ThresholdRule | AnomalyRule


def rule_from_mapping(raw: Mapping[str, Any]) -> Rule:
    """A rule from config: ``type = "threshold"`` (default) or ``"anomaly"``."""
    if not isinstance(raw, Mapping):
        raise RuleError(f"a rule must be a table/object, got {type(raw).__name__}")
    values = dict(raw)
    kind = values.pop("type", "threshold")
    try:
        if kind == "threshold":
            _only(values, {"name", "evaluator", "when", "value", "labels", "severity"})
            values.setdefault("name", f"{values.get('evaluator')}_{values.get('when', 'failed')}")
            if "labels" in values:
                values["labels"] = tuple(values["labels"])
            return ThresholdRule(**values)
        if kind == "anomaly":
            allowed = {"name", "metric", "select", "threshold", "min_ratio", "min_delta"}
            _only(values, allowed | {"min_samples", "baseline", "severity"})
            values.setdefault("name", f"{values.get('metric', 'duration_ms')}_anomaly")
            if "select" in values:
                values["selector"] = Selector.from_mapping(values.pop("select"))
            return AnomalyRule(**values)
    except SelectorError as exc:
        raise RuleError(f"rule {values.get('name')}: {exc}") from None
    except TypeError as exc:
        raise RuleError(f"rule {values.get('name')}: {exc}") from None
    raise RuleError(f"rule type must be 'threshold' or 'anomaly', got {kind!r}")


def _only(values: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise RuleError(
            f"rule {values.get('name', '')}: unknown key {unknown[0]!r}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
