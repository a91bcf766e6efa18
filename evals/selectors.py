"""Selectors: which spans an online evaluator or rule looks at.

A selector filters by project, span kind, span name (glob patterns), service and tags,
and samples deterministically: a span is in the sample when the first 32 bits of the MD5
of its trace id (or span id) fall below ``sample_rate``. The same id is always in or out,
in SQL and in Python alike, so a restart or a re-run picks the same spans, and sampling by
trace keeps every span of a sampled trace.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from loopwise.collector.semconv import SPAN_KINDS

SampleBy = Literal["trace", "span"]
SAMPLE_SPACE = 2**32
_ALIASES = {
    "project": "projects",
    "kind": "kinds",
    "name": "names",
    "service": "services",
    "tag": "tags",
}
_FIELDS = ("projects", "kinds", "names", "services", "tags", "sample_rate", "sample_by")


class SelectorError(ValueError):
    """A selector definition is invalid; the message says which part."""


@dataclass(frozen=True)
class Selector:
    """Spans to evaluate. Empty tuples match everything; ``names`` are glob patterns
    (``draft_*``); ``tags`` match spans carrying any of them. Evaluator spans (the judge's
    own calls) are skipped unless ``kinds`` names ``evaluator``."""

    projects: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    sample_rate: float = 1.0
    sample_by: SampleBy = "trace"

    def __post_init__(self) -> None:
        for name in ("projects", "kinds", "names", "services", "tags"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, (value,))
            elif not all(isinstance(v, str) and v for v in value):
                raise SelectorError(f"{name} must be strings, got {list(value)!r}")
            else:
                object.__setattr__(self, name, tuple(value))
        unknown = [k for k in self.kinds if k not in SPAN_KINDS]
        if unknown:
            raise SelectorError(
                f"unknown span kind {unknown[0]!r}; expected one of {', '.join(SPAN_KINDS)}"
            )
        rate = self.sample_rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 1:
            raise SelectorError(f"sample_rate must be within (0, 1], got {rate!r}")
        if self.sample_by not in ("trace", "span"):
            raise SelectorError(f"sample_by must be 'trace' or 'span', got {self.sample_by!r}")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> Selector:
        """A selector from config (``kind = "llm"`` or ``kinds = ["llm", "tool"]``, ...)."""
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise SelectorError(f"a selector must be a table/object, got {type(raw).__name__}")
        values: dict[str, Any] = {}
        for key, value in raw.items():
            field = _ALIASES.get(key, key)
            if field not in _FIELDS:
                raise SelectorError(
                    f"unknown selector key {key!r}; use project, kind, name, service, tags, "
                    "sample_rate, sample_by"
                )
            if field in values:
                raise SelectorError(f"selector gives {field} twice")
            if field in ("projects", "kinds", "names", "services", "tags"):
                value = (value,) if isinstance(value, str) else tuple(_strings(key, value))
            values[field] = value
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The selector as config (only the parts that filter)."""
        out: dict[str, Any] = {}
        for name in ("projects", "kinds", "names", "services", "tags"):
            if getattr(self, name):
                out[name] = list(getattr(self, name))
        if self.sample_rate < 1:
            out["sample_rate"] = self.sample_rate
            out["sample_by"] = self.sample_by
        return out

    def where(self, alias: str = "") -> tuple[str, list[Any]]:
        """The selector as a SQL condition on ``spans`` and its parameters."""
        col = (alias + ".") if alias else ""
        clauses: list[str] = []
        params: list[Any] = []
        for name, column in (
            ("projects", "project"),
            ("kinds", "kind"),
            ("services", "service_name"),
        ):
            values = getattr(self, name)
            if values:
                clauses.append(f"{col}{column} IN ({', '.join('?' * len(values))})")
                params += list(values)
        if "evaluator" not in self.kinds:
            clauses.append(f"{col}kind <> 'evaluator'")
        if self.names:
            clauses.append("(" + " OR ".join(f"{col}name GLOB ?" for _ in self.names) + ")")
            params += list(self.names)
        if self.tags:
            clauses.append(f"list_has_any(coalesce({col}tags, []), ?::VARCHAR[])")
            params.append(list(self.tags))
        if self.sample_rate < 1:
            key = f"{col}trace_id" if self.sample_by == "trace" else f"{col}span_id"
            clauses.append(f"('0x' || substr(md5({key}), 1, 8))::UBIGINT < ?")
            params.append(int(self.sample_rate * SAMPLE_SPACE))
        return (" AND ".join(clauses) or "TRUE"), params


def _strings(key: str, value: Any) -> Sequence[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise SelectorError(f"selector {key} must be a string or a list of strings")
    return value


def in_sample(identifier: str, rate: float) -> bool:
    """Whether an id is in a ``rate`` sample (the same decision the SQL condition makes)."""
    if rate >= 1:
        return True
    bucket = int(hashlib.md5(identifier.encode()).hexdigest()[:8], 16)  # a bucket, not security
    return bucket < int(rate * SAMPLE_SPACE)
