"""The prompt registry: named prompts with numbered versions and movable labels.

A version is immutable: template (``{{variable}}`` placeholders), its variables and model
parameters (model, temperature, ...). Labels (``production``, ``staging``, any
``[a-z0-9_-]`` name) point at versions; moving one appends a row, so the history of what
was live when is kept. ``latest`` is not stored: it always means the newest version. Both
creating a version and moving a label take the version the actor expects to replace, and
are refused with a conflict when someone else moved it first.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import duckdb

from loopwise.collector.sdk import template_variables
from loopwise.collector.store import Store, record_audit
from loopwise.collector.store.feedback_tables import PROMPT_LABELS_NOW_SQL, PROMPT_RESOLVE_SQL

from .common import (
    canonical_json,
    check_actor,
    check_name,
    from_json,
    optional_text,
    optional_version,
    required_text,
    utcnow,
)
from .errors import Conflict, FeedbackError, NotFound

LABEL_PATTERN = re.compile(r"[a-z0-9][a-z0-9_\-]{0,49}")
RESERVED_LABELS = frozenset({"latest"})
MAX_TEMPLATE_CHARS = 200_000

LIST_SQL = """
SELECT name, max(version) AS latest_version, count(*) AS versions, max(created_at) AS updated_at
FROM prompt_versions GROUP BY name ORDER BY name
"""
ALL_LABELS_SQL = """
SELECT name, label, arg_max_null(version, seq) AS version FROM prompt_labels GROUP BY name, label
"""


@dataclass(frozen=True)
class PromptVersion:
    """One stored prompt version and the labels pointing at it now."""

    name: str
    version: int
    template: str
    variables: list[str]
    model_params: dict[str, Any]
    message: str | None
    author: str
    created_at: dt.datetime
    proposal_id: str | None
    labels: list[str]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (the shape ``loopwise.prompt`` reads)."""
        return asdict(self)


def check_label(value: Any) -> str:
    """A label name (lower-case letters, digits, ``_ -``; ``latest`` is reserved)."""
    if not isinstance(value, str) or not LABEL_PATTERN.fullmatch(value):
        raise FeedbackError(f"invalid label {value!r}: use a-z, 0-9, '_' or '-' (max 50)")
    if value in RESERVED_LABELS:
        raise FeedbackError(f"the label {value!r} is reserved: it always means the newest version")
    return value


def check_model_params(value: Any) -> dict[str, Any]:
    """Model parameters: a JSON object (model, temperature, max_tokens, ...)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise FeedbackError("model_params must be an object")
    canonical_json(value)  # raises for values JSON cannot hold
    return dict(value)


def create_version(
    store: Store,
    name: Any,
    template: Any,
    *,
    actor: Any,
    model_params: Any = None,
    variables: Any = None,
    message: Any = None,
    labels: Sequence[Any] = (),
    expected_version: Any = None,
    proposal_id: str | None = None,
) -> PromptVersion:
    """Store a new version of prompt ``name`` (version 1 creates the prompt) and point
    ``labels`` at it. ``expected_version`` is the newest version the actor saw (0: none);
    Conflict when there is a newer one. ``variables``, when given, must name exactly the
    template's placeholders."""
    prompt = check_name(name, "prompt")
    who = check_actor(actor)
    text = required_text(template, "template", MAX_TEMPLATE_CHARS)
    params = check_model_params(model_params)
    found = template_variables(text)
    if variables is not None and (
        not isinstance(variables, list) or sorted(map(str, variables)) != sorted(found)
    ):
        raise FeedbackError(
            f"variables {variables!r} do not match the template's placeholders {found!r}"
        )
    note = optional_text(message, "message", 10_000)
    expected = optional_version(expected_version)
    if isinstance(labels, str | bytes) or not isinstance(labels, Sequence):
        raise FeedbackError("labels must be a list of label names")
    wanted_labels = [check_label(label) for label in labels]
    with store.transaction() as cur:
        version = insert_version(
            cur, prompt, text, params, who, note, wanted_labels, expected, proposal_id
        )
    return get_version(store, prompt, version=version)


def insert_version(
    cur: duckdb.DuckDBPyConnection,
    prompt: str,
    template: str,
    params: dict[str, Any],
    actor: str,
    message: str | None,
    labels: Sequence[str],
    expected: int | None,
    proposal_id: str | None,
) -> int:
    """Insert the next version of ``prompt`` inside the caller's transaction (inputs already
    checked); return its number. Conflict when the newest version is not ``expected``."""
    latest = _latest(cur, prompt)
    if expected is not None and expected != latest:
        raise Conflict(
            f"prompt {prompt} is at version {latest}, not {expected}: someone added a "
            "version meanwhile; reload and try again",
            current_version=latest,
        )
    if latest:
        previous = cur.execute(
            "SELECT template, model_params FROM prompt_versions WHERE name = ? AND version = ?",
            [prompt, latest],
        ).fetchall()[0]
        if previous[0] == template and from_json(previous[1], {}) == params:
            raise FeedbackError(f"identical to version {latest} of prompt {prompt}")
    version = latest + 1
    cur.execute(
        "INSERT INTO prompt_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            prompt,
            version,
            template,
            canonical_json(template_variables(template)),
            canonical_json(params),
            message,
            actor,
            utcnow(),
            proposal_id,
        ],
    )
    for label in labels:
        _move_label(cur, prompt, label, version, actor, message)
    return version


def set_label(
    store: Store,
    name: Any,
    label: Any,
    version: Any,
    *,
    actor: Any,
    reason: Any = None,
    expected_version: Any = None,
) -> PromptVersion | None:
    """Point ``label`` at ``version`` (None removes the label). ``expected_version`` is the
    version the label pointed at when the actor looked (0: nowhere); Conflict if it moved."""
    prompt = check_name(name, "prompt")
    tag = check_label(label)
    who = check_actor(actor)
    why = optional_text(reason, "reason", 10_000)
    target = optional_version(version, "version")
    expected = optional_version(expected_version)
    with store.transaction() as cur:
        if _latest(cur, prompt) == 0:
            raise NotFound(f"no prompt {prompt}")
        if (
            target is not None
            and not cur.execute(
                "SELECT 1 FROM prompt_versions WHERE name = ? AND version = ?", [prompt, target]
            ).fetchall()
        ):
            raise NotFound(f"prompt {prompt} has no version {target}")
        now = _labels(cur, prompt).get(tag) or 0
        if expected is not None and expected != now:
            raise Conflict(
                f"label {tag} of prompt {prompt} points at version {now or 'none'}, not "
                f"{expected}: someone moved it meanwhile",
                current_version=now,
            )
        _move_label(cur, prompt, tag, target, who, why)
    return get_version(store, prompt, version=target) if target is not None else None


def get_version(
    store: Store, name: Any, *, label: Any = None, version: Any = None
) -> PromptVersion:
    """The version ``version``, else the one ``label`` points at (default production)."""
    prompt = check_name(name, "prompt")
    wanted = optional_version(version, "version")
    tag = None if wanted is not None else (label or "production")
    if tag is not None and tag != "latest":
        check_label(tag)
    rows = store.query(
        PROMPT_RESOLVE_SQL, {"name": prompt, "label": tag, "version": wanted}
    ).records()
    if not rows:
        if not store.query("SELECT 1 FROM prompt_versions WHERE name = ?", [prompt]).rows:
            raise NotFound(f"no prompt {prompt}")
        raise NotFound(
            f"prompt {prompt} has no version {wanted}"
            if wanted is not None
            else f"no version of prompt {prompt} is labelled {tag}"
        )
    return _full(store, prompt, int(rows[0]["version"]))


def list_versions(store: Store, name: Any) -> list[PromptVersion]:
    """Every version of a prompt, oldest first."""
    prompt = check_name(name, "prompt")
    rows = store.query(
        "SELECT version FROM prompt_versions WHERE name = ? ORDER BY version", [prompt]
    ).rows
    if not rows:
        raise NotFound(f"no prompt {prompt}")
    return [_full(store, prompt, int(row[0])) for row in rows]


def list_prompts(store: Store) -> list[dict[str, Any]]:
    """Every prompt: newest version, number of versions and its labels now."""
    labels: dict[str, dict[str, int]] = {}
    for name, label, version in store.query(ALL_LABELS_SQL).rows:
        if version is not None:
            labels.setdefault(name, {})[label] = int(version)
    return [
        {**row, "labels": labels.get(row["name"], {})} for row in store.query(LIST_SQL).records()
    ]


def label_history(store: Store, name: Any) -> list[dict[str, Any]]:
    """Every label move of a prompt, oldest first."""
    prompt = check_name(name, "prompt")
    return store.query(
        "SELECT * FROM prompt_labels WHERE name = ? ORDER BY created_at, label, seq", [prompt]
    ).records()


def diff_versions(store: Store, name: Any, old: Any, new: Any) -> dict[str, Any]:
    """A unified diff of two versions' templates and the model parameters that changed."""
    before = get_version(store, name, version=old)
    after = get_version(store, name, version=new)
    return {
        "name": before.name,
        "from_version": before.version,
        "to_version": after.version,
        "diff": template_diff(before.template, after.template, before.version, after.version),
        "model_params": params_diff(before.model_params, after.model_params),
    }


def template_diff(old: str, new: str, old_name: Any = "old", new_name: Any = "new") -> str:
    """A unified diff between two templates."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"version {old_name}",
        tofile=f"version {new_name}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def params_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """``{key: {"from": a, "to": b}}`` for every model parameter that differs."""
    keys = sorted(set(old) | set(new))
    return {k: {"from": old.get(k), "to": new.get(k)} for k in keys if old.get(k) != new.get(k)}


def _full(store: Store, prompt: str, version: int) -> PromptVersion:
    row = store.query(
        "SELECT * FROM prompt_versions WHERE name = ? AND version = ?", [prompt, version]
    ).records()[0]
    labels = [
        label
        for label, at in store.query(PROMPT_LABELS_NOW_SQL, {"name": prompt}).rows
        if at == version
    ]
    return PromptVersion(
        name=row["name"],
        version=int(row["version"]),
        template=row["template"],
        variables=from_json(row["variables"], []),
        model_params=from_json(row["model_params"], {}),
        message=row["message"],
        author=row["author"],
        created_at=row["created_at"],
        proposal_id=row["proposal_id"],
        labels=sorted(labels),
    )


def _latest(cur: duckdb.DuckDBPyConnection, prompt: str) -> int:
    rows = cur.execute("SELECT max(version) FROM prompt_versions WHERE name = ?", [prompt])
    return int(rows.fetchall()[0][0] or 0)


def _labels(cur: duckdb.DuckDBPyConnection, prompt: str) -> dict[str, int | None]:
    result = cur.execute(PROMPT_LABELS_NOW_SQL, {"name": prompt}).fetchall()
    return {label: version for label, version in result}


def _move_label(
    cur: duckdb.DuckDBPyConnection,
    prompt: str,
    label: str,
    version: int | None,
    actor: str,
    reason: str | None,
) -> None:
    previous = _labels(cur, prompt).get(label)
    seq = cur.execute(
        "SELECT coalesce(max(seq), 0) + 1 FROM prompt_labels WHERE name = ? AND label = ?",
        [prompt, label],
    ).fetchall()[0][0]
    cur.execute(
        "INSERT INTO prompt_labels VALUES (?, ?, ?, ?, ?, ?, ?)",
        [prompt, label, seq, version, actor, reason, utcnow()],
    )
    record_audit(
        cur,
        actor=actor,
        action="prompt.label.move",
        target=f"prompt:{prompt}",
        details={"label": label, "from_version": previous, "to_version": version, "reason": reason},
    )
