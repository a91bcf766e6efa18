"""Which patterns redact which project's spans: from a TOML or JSON file, else the default.

The default redacts every built-in kind (api_key, secret, email, card, phone) in every
project. A file (``--redact PATH`` or ``LOOPWISE_REDACT``) changes that::

    enabled = true                                  # the default for every project
    kinds = ["api_key", "secret", "email", "card", "phone"]

    [[patterns]]                                    # custom patterns (RE2 syntax)
    kind = "employee_id"                            # shown as [redacted:employee_id]
    regex = "EMP-[0-9]{6}"
    bounded = false                                 # true: only at word boundaries

    [projects.support-bot]                          # a project's own settings: each key
    kinds = ["api_key", "secret", "card"]           # given replaces the top-level one

    [projects.load-test]
    enabled = false

``LOOPWISE_REDACT=off`` (or ``--redact off``) turns redaction off everywhere.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from ..config_models import ConfigModel, EmptyIsAbsent, validated
from .patterns import BUILTIN_KINDS, BUILTIN_PATTERNS, Pattern

ENV_VAR = "LOOPWISE_REDACT"
OFF = "off"
MAX_CUSTOM_REGEX_CHARS = 2000
_KIND_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


class RedactionConfigError(ValueError):
    """The redaction config is invalid; the message names the entry and the problem."""


@dataclass(frozen=True)
class RedactionPolicy:
    """What is redacted in one project: built-in ``kinds`` and ``custom`` patterns."""

    enabled: bool = True
    kinds: tuple[str, ...] = BUILTIN_KINDS
    custom: tuple[Pattern, ...] = ()

    @property
    def patterns(self) -> tuple[Pattern, ...]:
        """Every pattern to apply, in order: built-ins (in their fixed order), then custom."""
        if not self.enabled:
            return ()
        builtin = tuple(
            p for kind in BUILTIN_KINDS if kind in self.kinds for p in BUILTIN_PATTERNS[kind]
        )
        return builtin + self.custom


@dataclass(frozen=True)
class RedactionConfig:
    """The default policy and per-project overrides; ``source`` says where they came from."""

    default: RedactionPolicy = field(default_factory=RedactionPolicy)
    projects: tuple[tuple[str, RedactionPolicy], ...] = ()
    source: str = "default"

    def policy(self, project: str) -> RedactionPolicy:
        """The policy for spans of ``project``."""
        for name, policy in self.projects:
            if name == project:
                return policy
        return self.default

    @property
    def active(self) -> bool:
        """Some project has at least one pattern to apply."""
        policies = [self.default, *(p for _, p in self.projects)]
        return any(p.patterns for p in policies)

    @classmethod
    def off(cls) -> RedactionConfig:
        """Nothing is redacted anywhere."""
        return cls(default=RedactionPolicy(enabled=False), source=OFF)


class PatternEntry(ConfigModel):
    """A ``[[patterns]]`` entry: a custom pattern, shown as ``[redacted:<kind>]``."""

    kind: str
    regex: str = Field(min_length=1, max_length=MAX_CUSTOM_REGEX_CHARS)
    bounded: bool = False

    @field_validator("kind")
    @classmethod
    def _kind_is_a_name(cls, kind: str) -> str:
        if not _KIND_NAME.fullmatch(kind):
            raise ValueError(f"must be a lowercase name (letters, digits, _), got {kind!r}")
        return kind

    @field_validator("regex")
    @classmethod
    def _regex_compiles(cls, regex: str) -> str:
        try:
            python = re.compile(regex)
        except re.error as exc:
            raise ValueError(f"{regex!r} does not compile: {exc}") from None
        try:
            empty = pc.match_substring_regex(pa.array([""]), regex)[0].as_py()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            first = str(exc).splitlines()[0]
            raise ValueError(f"{regex!r} is not valid RE2 syntax: {first}") from None
        if empty or python.fullmatch("") is not None:
            raise ValueError(f"{regex!r} matches empty text")
        return regex

    def pattern(self) -> Pattern:
        """The pattern to apply."""
        return Pattern(self.kind, self.regex, bounded=self.bounded, builtin=False)


class PolicyEntry(ConfigModel):
    """A project's settings (``[projects.NAME]``): each key given replaces the default's."""

    enabled: bool = True
    kinds: list[str] = Field(default_factory=lambda: list(BUILTIN_KINDS))
    patterns: list[PatternEntry] = Field(default_factory=list)

    @field_validator("kinds")
    @classmethod
    def _kinds_are_built_in(cls, kinds: list[str]) -> list[str]:
        bad = sorted(set(kinds) - set(BUILTIN_KINDS))
        if bad:
            known = ", ".join(BUILTIN_KINDS)
            raise ValueError(f"unknown kind {bad[0]!r}; built-in kinds are {known}")
        return kinds


class RedactionFile(PolicyEntry):
    """The whole file: the default policy's keys, and ``projects`` keyed by project name."""

    projects: Annotated[dict[str, PolicyEntry] | None, EmptyIsAbsent] = None


def load_redaction(path: str | Path) -> RedactionConfig:
    """Read a redaction config file (``.json``, else TOML), or ``"off"``."""
    if str(path).strip().lower() == OFF:
        return RedactionConfig.off()
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise RedactionConfigError(
            f"cannot read redaction config {file}: {exc.strerror or exc}"
        ) from None
    try:
        raw = json.loads(text) if file.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if file.suffix.lower() == ".json" else "TOML"
        raise RedactionConfigError(f"{file} is not valid {kind}: {exc}") from None
    return redaction_from_mapping(raw, source=str(file))


def redaction_from_env() -> RedactionConfig:
    """The config named by ``LOOPWISE_REDACT`` (a file, or ``off``), else the default."""
    value = os.environ.get(ENV_VAR, "").strip()
    return load_redaction(value) if value else RedactionConfig()


def redaction_from_mapping(raw: Mapping[str, Any], *, source: str = "inline") -> RedactionConfig:
    """A config from parsed TOML/JSON (see the module doc for the format)."""
    if not isinstance(raw, Mapping):
        raise RedactionConfigError("the redaction config must be a table/object at the top")
    parsed = validated(RedactionFile, dict(raw), RedactionConfigError)
    default = _policy(parsed, RedactionPolicy())
    projects = tuple(
        (name, _policy(entry, default)) for name, entry in (parsed.projects or {}).items()
    )
    return RedactionConfig(default, projects, source)


def custom_pattern(entry: Any, *, where: str = "pattern") -> Pattern:
    """A custom pattern from ``{kind, regex, bounded?}``, checked to compile in RE2 and in
    Python and to never match empty text."""
    if not isinstance(entry, Mapping):
        raise RedactionConfigError(f"{where}: must be a table/object with kind and regex")
    return validated(PatternEntry, dict(entry), RedactionConfigError, where=where).pattern()


def _policy(entry: PolicyEntry, base: RedactionPolicy) -> RedactionPolicy:
    """``entry``'s policy: the keys it gives, the rest from ``base``."""
    given = entry.model_fields_set
    kinds = tuple(k for k in BUILTIN_KINDS if k in entry.kinds)
    return RedactionPolicy(
        enabled=entry.enabled if "enabled" in given else base.enabled,
        kinds=kinds if "kinds" in given else base.kinds,
        custom=tuple(p.pattern() for p in entry.patterns) if "patterns" in given else base.custom,
    )
