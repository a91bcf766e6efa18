"""The redaction config file parsed by its pydantic models: the domain objects a valid file
gives, and one-line errors naming the entry (an unknown key, a wrong type, a bad regex)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from loopwise.collector.redact import (
    BUILTIN_KINDS,
    Pattern,
    RedactionConfig,
    RedactionConfigError,
    RedactionPolicy,
    custom_pattern,
    load_redaction,
    redaction_from_mapping,
)

EMPLOYEE = Pattern("employee_id", "EMP-[0-9]{6}", bounded=True, builtin=False)
TICKET = Pattern("ticket", "T-[0-9]+", bounded=False, builtin=False)


def test_a_valid_file_gives_the_same_domain_objects(tmp_path: Path) -> None:
    file = tmp_path / "redact.toml"
    file.write_text(
        'kinds = ["card", "email"]\n'
        '[[patterns]]\nkind = "employee_id"\nregex = "EMP-[0-9]{6}"\nbounded = true\n'
        '[projects.support-bot]\nkinds = ["phone"]\n'
        '[[projects.support-bot.patterns]]\nkind = "ticket"\nregex = "T-[0-9]+"\n'
        "[projects.load-test]\nenabled = false\n"
    )
    default = RedactionPolicy(enabled=True, kinds=("email", "card"), custom=(EMPLOYEE,))
    assert load_redaction(file) == RedactionConfig(
        default=default,
        projects=(
            ("support-bot", RedactionPolicy(True, ("phone",), (TICKET,))),
            ("load-test", RedactionPolicy(False, ("email", "card"), (EMPLOYEE,))),
        ),
        source=str(file),
    )
    as_json = tmp_path / "redact.json"
    as_json.write_text(json.dumps({"enabled": True, "projects": {}}))
    assert load_redaction(as_json) == RedactionConfig(source=str(as_json))
    assert redaction_from_mapping({}).default.kinds == BUILTIN_KINDS


@pytest.mark.parametrize("empty", [None, {}, [], False, 0, ""])
def test_empty_projects_read_as_none(empty: Any) -> None:
    assert redaction_from_mapping({"projects": empty}).projects == ()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"colour": 1}, "unknown key 'colour'; allowed: enabled, kinds, patterns, projects"),
        (
            {"projects": {"support-bot": {"knds": ["email"]}}},
            "projects.support-bot: unknown key 'knds'; allowed: enabled, kinds, patterns",
        ),
        (
            {"patterns": [{"kind": "x", "regex": "x+", "bound": True}]},
            "patterns[0]: unknown key 'bound'; allowed: kind, regex, bounded",
        ),
        # an unknown key is named before the problems it probably causes
        (
            {"patterns": [{"knd": "x", "regex": "x+"}]},
            "patterns[0]: unknown key 'knd'; allowed: kind, regex, bounded",
        ),
    ],
)
def test_an_unknown_key_is_refused_by_name(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(RedactionConfigError, match=f"^{re.escape(message)}$"):
        redaction_from_mapping(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"enabled": "yes"}, "enabled: must be true or false, got 'yes'"),
        ({"kinds": "email"}, "kinds: must be a list, got 'email'"),
        (
            {"projects": {"support-bot": {"kinds": ["email", 3]}}},
            "projects.support-bot.kinds[1]: must be a string, got 3",
        ),
        ({"projects": {"ops": "off"}}, "projects.ops: must be a table/object, got 'off'"),
        ({"projects": ["ops"]}, "projects: must be a table/object, got ['ops']"),
        ({"patterns": [{"regex": "x+"}]}, "patterns[0].kind: is required"),
        (
            {"projects": {"p": {"patterns": [{"kind": "x", "regex": "x+", "bounded": 1}]}}},
            "projects.p.patterns[0].bounded: must be true or false, got 1",
        ),
        ({"patterns": [{"kind": "x", "regex": ""}]}, "patterns[0].regex: must not be empty"),
        (
            {"patterns": [{"kind": "x", "regex": "x" * 2001}]},
            "patterns[0].regex: is longer than 2000 characters",
        ),
        (
            {"patterns": [{"kind": "x", "regex": "a*"}]},
            "patterns[0].regex: 'a*' matches empty text",
        ),
        (
            {"kinds": ["email", "ssn"]},
            "kinds: unknown kind 'ssn'; built-in kinds are api_key, secret, email, card, phone",
        ),
    ],
)
def test_a_wrong_value_is_refused_naming_its_entry(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(RedactionConfigError, match=f"^{re.escape(message)}$"):
        redaction_from_mapping(raw)


def test_custom_pattern_names_the_place_it_came_from() -> None:
    assert custom_pattern({"kind": "ticket", "regex": "T-[0-9]+"}) == TICKET
    with pytest.raises(RedactionConfigError, match=r"^rule 3\.kind: must be a lowercase name"):
        custom_pattern({"kind": "Ticket", "regex": "T-[0-9]+"}, where="rule 3")
    with pytest.raises(RedactionConfigError, match=r"^pattern: must be a table/object"):
        custom_pattern(["T-[0-9]+"])
    with pytest.raises(RedactionConfigError, match=r"^the redaction config must be a table"):
        redaction_from_mapping([])  # type: ignore[arg-type]
