"""Rubrics: the evaluators a reviewer gives a verdict on, per review queue.

The review queue has no entity of its own: it is the open items of a project (the project
filter of ``/api/reviews`` and of the dashboard's Review queue), so a rubric belongs to a
project and applies to every item of it. A rubric is a list of evaluator names in the order
a reviewer sees them. The verdicts given on it go with approve or correct
(``reviews.act``) and are stored as human scores, which judge calibration
(``calibration.py``) and reviewer agreement (``agreement.py``) read.

Rubrics are append-only (table ``review_rubrics``): each change is a new version of the
project's rubric with who, when and why, plus an audit entry (``review.rubric.set``); the
highest version counts. Clearing a rubric (a version without evaluators) brings the default
back: an item then offers the evaluators whose flags are on it (its own flag's, every other
flag on its span, and for a held output each check that failed), so a reviewer can always
judge what flagged it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import duckdb

from loopwise.collector.store import Store, record_audit

from .common import check_actor, from_json, optional_text, optional_version, table_columns, utcnow
from .errors import Conflict, FeedbackError
from .review_model import ReviewItem
from .review_queries import get_item
from .verdicts import MAX_EVALUATORS

EVALUATOR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,99}")
"""An evaluator's name as ``@evaluator`` accepts it (``evals.signatures.NAME_PATTERN``)."""
MAX_PROJECT_CHARS = 200
MAX_REASON_CHARS = 2000
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}

RubricSource = Literal["rubric", "flags"]

CURRENT_SQL = """
SELECT project, version, evaluators, actor, reason, created_at FROM review_rubrics
WHERE project = ? ORDER BY version DESC LIMIT 1
"""
HISTORY_SQL = """
SELECT project, version, evaluators, actor, reason, created_at FROM review_rubrics
WHERE project = ? ORDER BY version DESC
"""
LIST_SQL = """
SELECT project, version, evaluators, actor, reason, created_at FROM review_rubrics
WHERE CAST($project AS VARCHAR) IS NULL OR project = CAST($project AS VARCHAR)
QUALIFY row_number() OVER (PARTITION BY project ORDER BY version DESC) = 1
ORDER BY project
"""
SCORED_SQL = """
SELECT DISTINCT name FROM scores
WHERE project = ? AND kind <> 'human' AND status = 'ok' AND list_contains(?, name)
"""


@dataclass(frozen=True)
class Rubric:
    """A project's rubric as it stands: ``version`` 0 when none was ever set; no
    ``evaluators`` when none is set (or it was cleared), so items offer their flags'."""

    project: str
    evaluators: tuple[str, ...] = ()
    version: int = 0
    set_by: str | None = None
    set_at: dt.datetime | None = None
    reason: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def is_set(self) -> bool:
        """True when the project has a rubric of its own (not the default)."""
        return bool(self.evaluators)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "project": self.project,
            "evaluators": list(self.evaluators),
            "set": self.is_set,
            "version": self.version,
            "set_by": self.set_by,
            "set_at": self.set_at,
            "reason": self.reason,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class ItemRubric:
    """The evaluators one review item offers verdicts on: its project's rubric (``source``
    ``rubric``) or, with none set, the evaluators whose flags are on it (``flags``).
    ``implied`` is the evaluator whose verdict approve (pass) or correct (fail) records
    when the reviewer gives none: the one whose flag or check opened the item."""

    item_id: str
    project: str
    evaluators: tuple[str, ...]
    source: RubricSource
    rubric_version: int
    implied: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "item_id": self.item_id,
            "project": self.project,
            "evaluators": list(self.evaluators),
            "source": self.source,
            "rubric_version": self.rubric_version,
            "implied": self.implied,
        }


def check_project(value: Any) -> str:
    """A project name: 1-200 characters, no surrounding spaces."""
    if not isinstance(value, str) or not value.strip():
        raise FeedbackError("project is required: whose review queue is it?")
    if value != value.strip() or len(value) > MAX_PROJECT_CHARS:
        raise FeedbackError(
            f"project {value[:MAX_PROJECT_CHARS]!r} must be 1-{MAX_PROJECT_CHARS} characters "
            "without surrounding spaces"
        )
    return value


def check_evaluators(value: Any) -> tuple[str, ...]:
    """The evaluator names of a rubric: a list of 1 to 50 distinct names as ``@evaluator``
    accepts them (letters, digits, ``_ . -``, starting with a letter or ``_``)."""
    if value is None:
        raise FeedbackError(
            "evaluators is required: the evaluator names a reviewer gives a verdict on"
        )
    if not isinstance(value, list | tuple):
        raise FeedbackError(f"evaluators must be a list of names, got {type(value).__name__}")
    if not value:
        raise FeedbackError(
            "a rubric needs at least one evaluator; to go back to the default (the evaluators "
            "whose flags are on each item), clear it instead"
        )
    if len(value) > MAX_EVALUATORS:
        raise FeedbackError(f"a rubric holds at most {MAX_EVALUATORS} evaluators")
    names: list[str] = []
    for name in value:
        if not isinstance(name, str) or not EVALUATOR_NAME.fullmatch(name):
            raise FeedbackError(
                f"evaluator name {name!r} is not an evaluator's name: use 1-100 letters, "
                "digits, '_', '-' or '.', starting with a letter or '_'"
            )
        if name in names:
            raise FeedbackError(f"evaluator {name!r} is listed twice")
        names.append(name)
    return tuple(names)


def get_rubric(store: Store, project: Any) -> Rubric:
    """The project's rubric as it stands, with a warning for each evaluator that has not
    scored anything in the project (a misspelt name, or a judge that never ran there)."""
    name = check_project(project)
    rows = store.query(CURRENT_SQL, [name]).rows
    rubric = _rubric(rows[0]) if rows else Rubric(name)
    return _with_warnings(store, rubric)


def rubric_history(store: Store, project: Any) -> list[Rubric]:
    """Every version of the project's rubric, newest first (empty when none was set)."""
    name = check_project(project)
    return [_rubric(row) for row in store.query(HISTORY_SQL, [name]).rows]


def list_rubrics(store: Store, *, project: str | None = None) -> list[Rubric]:
    """The projects whose review queue has a rubric set (not cleared), by project name."""
    rows = store.query(LIST_SQL, {"project": project}, max_rows=100_000).rows
    return [rubric for rubric in map(_rubric, rows) if rubric.is_set]


def set_rubric(
    store: Store,
    *,
    project: Any,
    actor: Any,
    evaluators: Any = None,
    clear: Any = False,
    reason: Any = None,
    expected_version: Any = None,
) -> Rubric:
    """Set the project's rubric to ``evaluators`` (or, with ``clear``, go back to the
    default); returns the rubric as it now stands.

    ``expected_version`` is the rubric version the actor saw (0: none set yet); if someone
    changed it since, Conflict. A change that changes nothing records nothing. Bad input is
    a FeedbackError and changes nothing.
    """
    name = check_project(project)
    who = check_actor(actor)
    why = optional_text(reason, "reason", MAX_REASON_CHARS)
    expected = optional_version(expected_version)
    if not isinstance(clear, bool):
        raise FeedbackError(f"clear must be true or false, got {clear!r}")
    if clear and evaluators is not None:
        raise FeedbackError("give evaluators or clear, not both")
    names = () if clear else check_evaluators(evaluators)
    with store.transaction() as cur:
        current = _current(cur, name)
        if expected is not None and expected != current.version:
            raise Conflict(
                f"the rubric of {name!r} is at version {current.version}, not {expected}: "
                "someone changed it meanwhile; reload and try again",
                current_version=current.version,
            )
        if names == current.evaluators:
            return _with_warnings(store, current, cur)
        version = current.version + 1
        cur.execute(
            "INSERT INTO review_rubrics VALUES (?, ?, ?, ?, ?, ?)",
            [name, version, list(names) or None, who, why, utcnow()],
        )
        record_audit(
            cur,
            actor=who,
            action="review.rubric.set",
            target=f"rubric:{name}",
            project=name,
            details={
                "from_version": current.version,
                "version": version,
                "before": list(current.evaluators) or None,
                "evaluators": list(names) or None,
                "reason": why,
            },
        )
        rubric = _current(cur, name)
        return _with_warnings(store, rubric, cur)


def item_rubric(store: Store, item_id: Any) -> ItemRubric:
    """The evaluators a reviewer gives a verdict on for one item (NotFound for an unknown
    item): its project's rubric, else the evaluators whose flags are on it."""
    if not isinstance(item_id, str) or not item_id:
        raise FeedbackError("item_id is required")
    item = get_item(store, item_id)
    rows = store.query(CURRENT_SQL, [item.project]).rows
    rubric = _rubric(rows[0]) if rows else Rubric(item.project)
    implied = item.evaluator if item.source in ("flag", "held") and item.evaluator else None
    if rubric.is_set:
        return ItemRubric(
            item_id, item.project, rubric.evaluators, "rubric", rubric.version, implied
        )
    flagged = _distinct([implied, *_flagged(store, item)])
    return ItemRubric(item_id, item.project, flagged, "flags", rubric.version, implied)


def _flagged(store: Store, item: ReviewItem) -> list[str]:
    """The evaluators of the flags on an item's span (and of its own flag), most severe
    first; for a held output, first the checks that failed."""
    found: list[str] = []
    if item.source == "held":
        rows = store.query(
            "SELECT check_result FROM held_outputs WHERE item_id = ?", [item.item_id]
        ).rows
        check = from_json(rows[0][0], {}) if rows else {}
        failed = check.get("failed") if isinstance(check, dict) else None
        if isinstance(failed, list):
            found += [name for name in failed if isinstance(name, str) and name]
    columns = table_columns(store, "flags")
    if not {"flag_id", "trace_id", "span_id", "evaluator"} <= columns:
        return found
    severity = "f.severity" if "severity" in columns else "NULL"
    own = item.source_id if item.source == "flag" else None
    rows = store.query(
        f"""
        SELECT f.evaluator, {severity} AS severity FROM flags f
        WHERE f.trace_id = $trace_id AND f.evaluator IS NOT NULL AND f.evaluator <> ''
          AND (f.flag_id = CAST($own AS VARCHAR)
               OR f.span_id IS NOT DISTINCT FROM CAST($span_id AS VARCHAR))
        """,
        {"trace_id": item.trace_id, "span_id": item.span_id, "own": own},
    ).rows
    ranked = sorted(rows, key=lambda r: (SEVERITY_ORDER.get(str(r[1]), 3), str(r[0])))
    return found + [str(evaluator) for evaluator, _ in ranked]


def _distinct(names: Sequence[str | None]) -> tuple[str, ...]:
    kept: list[str] = []
    for name in names:
        if name and name not in kept:
            kept.append(name)
    return tuple(kept[:MAX_EVALUATORS])


def _current(cur: duckdb.DuckDBPyConnection, project: str) -> Rubric:
    rows = cur.execute(CURRENT_SQL, [project]).fetchall()
    return _rubric(rows[0]) if rows else Rubric(project)


def _rubric(row: Sequence[Any]) -> Rubric:
    project, version, evaluators, actor, reason, created_at = row
    return Rubric(
        project=str(project),
        evaluators=tuple(str(name) for name in evaluators or ()),
        version=int(version),
        set_by=actor,
        set_at=created_at,
        reason=reason,
    )


def _with_warnings(
    store: Store, rubric: Rubric, cur: duckdb.DuckDBPyConnection | None = None
) -> Rubric:
    """``rubric`` with a warning per evaluator that has no judge score in its project."""
    if not rubric.evaluators:
        return rubric
    params = [rubric.project, list(rubric.evaluators)]
    if cur is not None:
        rows = cur.execute(SCORED_SQL, params).fetchall()
    else:
        rows = store.query(SCORED_SQL, params).rows
    scored = {str(row[0]) for row in rows}
    notes = tuple(
        f"{name!r} has no scores in project {rubric.project!r}: check the name; until it "
        "scores there, its verdicts calibrate nothing"
        for name in rubric.evaluators
        if name not in scored
    )
    return Rubric(
        rubric.project,
        rubric.evaluators,
        rubric.version,
        rubric.set_by,
        rubric.set_at,
        rubric.reason,
        notes,
    )
