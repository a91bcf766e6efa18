"""Deleting stored data: by age, by project, by end user (a privacy request).

``delete_data`` is the one entry point (the CLI, ``POST /api/admin/delete`` and scheduled
retention all call it). It selects spans, deletes them and every row derived from them in
one transaction (all or nothing), keeps ``traces`` equal to what ``spans`` now holds, and
answers a ``DeletionReport`` with counts per table: what an audit record of the deletion
holds. ``dry_run`` runs the same transaction and rolls it back, so its counts are exact.

What is selected (the conditions given are combined with AND):

- ``older_than``: whole traces whose last span ended before the cutoff (a trace is never
  cut in half by age);
- ``project``: the spans of that project;
- ``user_id``: whole traces in which any span carries that user id, and the feedback that
  user gave (end-user scores whose author is the user) wherever it points.

The cascade over derived tables is in ``retention_cascade``; docs/retention.md says what is
deleted, what is kept and why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb

from .audit import record_audit
from .retention_cascade import Cascade, CascadeError, changed_rows, delete_derived
from .store import Store
from .traces import rebuild_listed_traces

_AGE = re.compile(r"^\s*(\d+)\s*([dhmw])\s*$")
_AGE_UNITS = {"w": dt.timedelta(weeks=1), "d": dt.timedelta(days=1), "h": dt.timedelta(hours=1)}
_AGE_UNITS["m"] = dt.timedelta(minutes=1)
SELECTION_FIELDS = ("older_than", "project", "user_id")


class RetentionError(ValueError):
    """A deletion request that cannot be run as given (nothing is changed)."""


class DerivedRowError(RetentionError, CascadeError):
    """A derived row stopped the deletion (it was rolled back; nothing is changed)."""


def parse_age(text: str) -> dt.timedelta:
    """``"30d"``, ``"12h"``, ``"2w"`` or ``"90m"`` as a timedelta (at least one minute)."""
    found = _AGE.match(text) if isinstance(text, str) else None
    if not found:
        raise RetentionError(
            f"an age looks like 30d, 12h, 2w or 90m (days, hours, weeks, minutes), got {text!r}"
        )
    age = int(found.group(1)) * _AGE_UNITS[found.group(2)]
    if age < dt.timedelta(minutes=1):
        raise RetentionError(f"an age must be at least one minute, got {text!r}")
    return age


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def utc_now() -> dt.datetime:
    """Now as the store keeps times: naive UTC."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Selection:
    """What to delete: any of an age, a project and an end user's id, combined with AND."""

    older_than: dt.timedelta | None = None
    project: str | None = None
    user_id: str | None = None
    now: dt.datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        if self.older_than is None and self.project is None and self.user_id is None:
            raise RetentionError("say what to delete: an age, a project or a user id")
        for name in ("project", "user_id"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise RetentionError(f"{name} must be a non-empty string")
            if value is not None and not _encodable(value):
                raise RetentionError(f"{name} is not valid Unicode text")
        if self.older_than is not None and self.older_than <= dt.timedelta(0):
            raise RetentionError("older_than must be a positive age")

    @property
    def cutoff(self) -> dt.datetime | None:
        """Data older than this (naive UTC) is selected; None without an age."""
        return None if self.older_than is None else self.now - self.older_than

    def describe(self) -> dict[str, Any]:
        """The selection as JSON data (what an audit record names as the target)."""
        out: dict[str, Any] = {}
        if self.older_than is not None:
            out["older_than_s"] = int(self.older_than.total_seconds())
            out["cutoff"] = self.cutoff.isoformat() + "Z" if self.cutoff else None
        if self.project is not None:
            out["project"] = self.project
        if self.user_id is not None:
            out["user_id"] = self.user_id
        return out

    @classmethod
    def from_json(cls, payload: object) -> Selection:
        """A selection from ``{"older_than": "30d", "project": ..., "user_id": ...}``."""
        if not isinstance(payload, Mapping):
            raise RetentionError(
                'body must be a JSON object: {"older_than": "30d"} and/or "project", "user_id"'
            )
        unknown = sorted(set(payload) - {*SELECTION_FIELDS, "dry_run"})
        if unknown:
            raise RetentionError(f"unknown field(s) {', '.join(unknown)}")
        age = payload.get("older_than")
        if age is not None and not isinstance(age, str):
            raise RetentionError('older_than must be a string such as "30d"')
        return cls(
            older_than=parse_age(age) if age is not None else None,
            project=payload.get("project"),
            user_id=payload.get("user_id"),
        )


@dataclass
class DeletionReport:
    """What a deletion removed (``deleted``: rows per table), changed in place
    (``updated``: rows per table) and deliberately kept (``notes``)."""

    selection: dict[str, Any]
    dry_run: bool
    deleted: dict[str, int]
    updated: dict[str, int]
    notes: list[str]

    @property
    def total_deleted(self) -> int:
        """Rows deleted over all tables."""
        return sum(self.deleted.values())

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON data (the API's answer and an audit record's details)."""
        return {
            "selection": self.selection,
            "dry_run": self.dry_run,
            "deleted": self.deleted,
            "updated": self.updated,
            "notes": self.notes,
            "total_deleted": self.total_deleted,
        }


class _RolledBack(Exception):
    """Raised inside a dry run's transaction so that it rolls back with its report."""

    def __init__(self, report: DeletionReport) -> None:
        super().__init__("dry run")
        self.report = report


def delete_data(
    store: Store, selection: Selection, *, dry_run: bool = False, actor: str = "system"
) -> DeletionReport:
    """Delete what ``selection`` names and everything derived from it, in one transaction;
    return the counts per table. With ``dry_run`` nothing changes and the counts are what a
    real run would delete now.

    This is the single place every deletion goes through, so a real run appends its audit
    entry (``data.delete`` by ``actor``) here, in the same transaction: the entry exists
    exactly when the rows are gone.
    """
    try:
        with store.transaction() as cur:
            report = apply_deletion(cur, selection, dry_run=dry_run)
            if dry_run:
                raise _RolledBack(report)
            record_audit(
                cur,
                actor=actor,
                action="data.delete",
                target=deletion_target(selection),
                project=selection.project,
                details=_audit_details(report, selection),
            )
    except _RolledBack as rolled_back:
        return rolled_back.report
    except CascadeError as exc:
        raise DerivedRowError(str(exc)) from None
    return report


def deletion_target(selection: Selection) -> str:
    """The audit target naming a deletion: ``project:NAME``, ``user:<sha256 prefix>`` or
    ``age:<seconds>s``, the conditions joined by ``+``.

    An erased person's id is kept only as a hash prefix: the log that survives an erasure
    shows that it happened and can be matched against a request, without holding the id.
    """
    parts = []
    if selection.older_than is not None:
        parts.append(f"age:{int(selection.older_than.total_seconds())}s")
    if selection.project is not None:
        parts.append(f"project:{selection.project}")
    if selection.user_id is not None:
        parts.append(f"user:{user_id_digest(selection.user_id)}")
    return "+".join(parts)


def user_id_digest(user_id: str) -> str:
    """The first 16 hex digits of the SHA-256 of an end user's id (how the audit log names a
    privacy deletion's subject)."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:16]


def _audit_details(report: DeletionReport, selection: Selection) -> dict[str, Any]:
    details = report.to_dict()
    if selection.user_id is not None:
        described = {k: v for k, v in report.selection.items() if k != "user_id"}
        details["selection"] = {**described, "user_id_sha256": user_id_digest(selection.user_id)}
    return details


def apply_deletion(
    cur: duckdb.DuckDBPyConnection, selection: Selection, *, dry_run: bool = False
) -> DeletionReport:
    """The deletion inside the caller's transaction (``cur`` has begun one)."""
    where, params = _span_condition(selection)
    cur.execute(
        f"CREATE TEMP TABLE _lw_spans AS SELECT trace_id, span_id, rowid AS row_id "
        f"FROM spans WHERE {where}",
        params,
    )
    cur.execute("CREATE TEMP TABLE _lw_affected AS SELECT DISTINCT trace_id FROM _lw_spans")
    deleted: dict[str, int] = {}
    updated: dict[str, int] = {}
    updated["eval_watermarks"] = _lower_watermarks(cur)
    deleted["spans"] = changed_rows(
        cur, "DELETE FROM spans WHERE rowid IN (SELECT row_id FROM _lw_spans)"
    )
    removed, rewritten = rebuild_listed_traces(cur, "_lw_affected")
    deleted["traces"] = removed - rewritten
    updated["traces"] = rewritten
    cur.execute(
        "CREATE TEMP TABLE _lw_gone AS SELECT trace_id FROM _lw_affected "
        "WHERE trace_id NOT IN (SELECT trace_id FROM traces)"
    )
    cascade = Cascade(cur, selection.project, selection.cutoff, selection.user_id)
    notes = delete_derived(cascade, deleted, updated)
    # The temp tables live in the transaction: a failure rolls them back with everything else.
    for table in ("_lw_spans", "_lw_affected", "_lw_gone"):
        cur.execute(f"DROP TABLE {table}")
    return DeletionReport(selection.describe(), dry_run, deleted, updated, notes)


def _span_condition(selection: Selection) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    if selection.cutoff is not None:
        parts.append("trace_id IN (SELECT trace_id FROM traces WHERE end_time < ?)")
        params.append(selection.cutoff)
    if selection.project is not None:
        parts.append("project = ?")
        params.append(selection.project)
    if selection.user_id is not None:
        parts.append("trace_id IN (SELECT trace_id FROM spans WHERE user_id = ?)")
        params.append(selection.user_id)
    return " AND ".join(parts), params


def _lower_watermarks(cur: duckdb.DuckDBPyConnection) -> int:
    # Online evaluators read spans by rowid (evals' watermark). DuckDB renumbers rows when a
    # checkpoint compacts row groups with deletions, moving a row down by at most the number
    # of deleted rows before it; lowering each watermark by the deleted rows at or below it
    # keeps every unread span above it. Spans read twice score nothing new (score ids and
    # flag cause keys are stable).
    sql = """
        UPDATE eval_watermarks SET last_rowid = last_rowid - (
            SELECT count(*) FROM _lw_spans d WHERE d.row_id <= eval_watermarks.last_rowid
        )
        WHERE EXISTS (SELECT 1 FROM _lw_spans d WHERE d.row_id <= eval_watermarks.last_rowid)
    """
    return changed_rows(cur, sql)
