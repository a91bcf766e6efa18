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
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .patterns import BUILTIN_KINDS, BUILTIN_PATTERNS, Pattern

ENV_VAR = "LOOPWISE_REDACT"
OFF = "off"
MAX_CUSTOM_REGEX_CHARS = 2000
_KIND_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_POLICY_KEYS = {"enabled", "kinds", "patterns"}
_PATTERN_KEYS = {"kind", "regex", "bounded"}


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
    unknown = sorted(set(raw) - _POLICY_KEYS - {"projects"})
    if unknown:
        raise RedactionConfigError(
            f"unknown key {unknown[0]!r}; use enabled, kinds, patterns, projects"
        )
    default = _policy(raw, RedactionPolicy(), where="top level")
    projects_raw = raw.get("projects") or {}
    if not isinstance(projects_raw, Mapping):
        raise RedactionConfigError("projects must be a table/object keyed by project name")
    projects = []
    for name, entry in projects_raw.items():
        where = f"projects.{name}"
        if not isinstance(entry, Mapping):
            raise RedactionConfigError(f"{where}: must be a table/object")
        unknown = sorted(set(entry) - _POLICY_KEYS)
        if unknown:
            raise RedactionConfigError(
                f"{where}: unknown key {unknown[0]!r}; use enabled, kinds, patterns"
            )
        projects.append((str(name), _policy(entry, default, where=where)))
    return RedactionConfig(default, tuple(projects), source)


def _policy(raw: Mapping[str, Any], base: RedactionPolicy, *, where: str) -> RedactionPolicy:
    enabled = raw.get("enabled", base.enabled)
    if not isinstance(enabled, bool):
        raise RedactionConfigError(f"{where}: enabled must be true or false")
    kinds = base.kinds
    if "kinds" in raw:
        given = raw["kinds"]
        if not isinstance(given, list) or not all(isinstance(k, str) for k in given):
            raise RedactionConfigError(f"{where}: kinds must be a list of names")
        bad = sorted(set(given) - set(BUILTIN_KINDS))
        if bad:
            raise RedactionConfigError(
                f"{where}: unknown kind {bad[0]!r}; built-in kinds are {', '.join(BUILTIN_KINDS)}"
            )
        kinds = tuple(k for k in BUILTIN_KINDS if k in given)
    custom = base.custom
    if "patterns" in raw:
        entries = raw["patterns"]
        if not isinstance(entries, list):
            raise RedactionConfigError(f"{where}: patterns must be a list of tables/objects")
        custom = tuple(
            custom_pattern(entry, where=f"{where} patterns[{i}]") for i, entry in enumerate(entries)
        )
    return RedactionPolicy(enabled=enabled, kinds=kinds, custom=custom)


def custom_pattern(entry: Any, *, where: str = "pattern") -> Pattern:
    """A custom pattern from ``{kind, regex, bounded?}``, checked to compile in RE2 and in
    Python and to never match empty text."""
    if not isinstance(entry, Mapping):
        raise RedactionConfigError(f"{where}: must be a table/object with kind and regex")
    unknown = sorted(set(entry) - _PATTERN_KEYS)
    if unknown:
        raise RedactionConfigError(f"{where}: unknown key {unknown[0]!r}; use kind, regex, bounded")
    kind, regex, bounded = entry.get("kind"), entry.get("regex"), entry.get("bounded", False)
    if not isinstance(kind, str) or not _KIND_NAME.fullmatch(kind):
        raise RedactionConfigError(
            f"{where}: kind must be a lowercase name (letters, digits, _), got {kind!r}"
        )
    if not isinstance(regex, str) or not regex:
        raise RedactionConfigError(f"{where}: regex must be a non-empty string")
    if len(regex) > MAX_CUSTOM_REGEX_CHARS:
        raise RedactionConfigError(f"{where}: regex is longer than {MAX_CUSTOM_REGEX_CHARS} chars")
    if not isinstance(bounded, bool):
        raise RedactionConfigError(f"{where}: bounded must be true or false")
    try:
        python = re.compile(regex)
    except re.error as exc:
        raise RedactionConfigError(f"{where}: regex {regex!r} does not compile: {exc}") from None
    try:
        empty = pc.match_substring_regex(pa.array([""]), regex)[0].as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise RedactionConfigError(
            f"{where}: regex {regex!r} is not valid RE2 syntax: {str(exc).splitlines()[0]}"
        ) from None
    if empty or python.fullmatch("") is not None:
        raise RedactionConfigError(f"{where}: regex {regex!r} matches empty text")
    return Pattern(kind, regex, bounded=bounded, builtin=False)
