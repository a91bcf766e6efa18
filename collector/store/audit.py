"""The audit log: who did which administrative action to what, and when.

Append-only: this module only inserts and reads (nothing in loopwise updates or deletes a
row, and user SQL cannot write). Call ``record_audit`` inside the action's own transaction,
so the entry is committed exactly when the action is::

    with store.transaction() as cur:
        ...                                             # the action's own writes
        record_audit(cur, actor="alice", action="key.create", target="key_3f2a",
                     project="support-bot", details={"role": "ingest"})

``record_audit(store, ...)`` (a Store instead of a cursor) writes the entry in a transaction
of its own. Actions are dotted lowercase names, ``<thing>.<verb>``: ``prompt.label.move``,
``prompt.proposal.adopt``, ``prompt.proposal.reject`` today; ``key.create``,
``key.revoke``, ``spans.delete`` are reserved for the key and retention commands.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import orjson

from .store import Store

ACTION_PATTERN = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*){0,4}")
MAX_ACTOR_CHARS = 200
MAX_TARGET_CHARS = 1000
MAX_DETAILS_BYTES = 64 * 1024
MAX_ENTRIES = 10_000
COLUMNS = ("seq", "created_at", "actor", "action", "target", "project", "details")


class AuditError(ValueError):
    """An audit entry or query is invalid; the message names the field."""


@dataclass(frozen=True)
class AuditEntry:
    """One administrative action: ``seq`` orders entries, ``created_at`` is UTC."""

    seq: int
    created_at: dt.datetime
    actor: str
    action: str
    target: str
    project: str | None
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (``created_at`` as ISO 8601 UTC)."""
        return {
            "seq": self.seq,
            "created_at": self.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "project": self.project,
            "details": self.details,
        }


def record_audit(
    where: Store | duckdb.DuckDBPyConnection,
    *,
    actor: str,
    action: str,
    target: str,
    details: Mapping[str, Any] | None = None,
    project: str | None = None,
) -> None:
    """Append one entry; ``where`` is the cursor of the action's transaction (preferred) or a
    Store. AuditError on a bad field, which rolls the caller's transaction back."""
    row = [
        _now(),
        _text(actor, "actor", MAX_ACTOR_CHARS),
        _action(action),
        _text(target, "target", MAX_TARGET_CHARS),
        None if project is None else _text(project, "project", MAX_TARGET_CHARS),
        _details(details),
    ]
    sql = (
        "INSERT INTO audit_log (created_at, actor, action, target, project, details) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
    if isinstance(where, Store):
        with where.transaction() as cur:
            cur.execute(sql, row)
    else:
        where.execute(sql, row)


def audit_entries(
    store: Store,
    *,
    action: str | None = None,
    actor: str | None = None,
    target: str | None = None,
    project: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Entries newest first. ``action`` matches exactly or as a prefix of dotted names
    (``prompt`` finds ``prompt.label.move``); the other filters match exactly; ``since`` and
    ``until`` (UTC) bound ``created_at``."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_ENTRIES:
        raise AuditError(f"limit must be between 1 and {MAX_ENTRIES}, got {limit!r}")
    clauses: list[str] = []
    params: list[Any] = []
    if action is not None:
        clauses.append("(action = ? OR starts_with(action, ?))")
        params += [action, action.rstrip(".") + "."]
    for name, value in (("actor", actor), ("target", target), ("project", project)):
        if value is not None:
            clauses.append(f"{name} = ?")
            params.append(value)
    if since is not None:
        clauses.append("created_at >= ?")
        params.append(_naive_utc(since))
    if until is not None:
        clauses.append("created_at < ?")
        params.append(_naive_utc(until))
    where = " AND ".join(clauses) or "true"
    if not _has_table(store):
        return []
    result = store.query(
        f"SELECT {', '.join(COLUMNS)} FROM audit_log WHERE {where} ORDER BY seq DESC LIMIT {limit}",
        params,
        max_rows=limit,
    )
    return [
        AuditEntry(
            seq=int(r[0]),
            created_at=r[1],
            actor=r[2],
            action=r[3],
            target=r[4],
            project=r[5],
            details=orjson.loads(r[6]),
        )
        for r in result.rows
    ]


def _has_table(store: Store) -> bool:
    # A file opened read-only is not migrated; one from before the audit log has none.
    found = store.query(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'audit_log'"
    )
    return bool(found.rows[0][0])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _naive_utc(value: dt.datetime) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise AuditError(f"since/until must be datetimes, got {value!r}")
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def _text(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AuditError(f"audit {what} must be non-empty text, got {value!r}")
    if len(value) > limit:
        raise AuditError(f"audit {what} is longer than {limit} characters")
    return value


def _action(value: Any) -> str:
    if not isinstance(value, str) or not ACTION_PATTERN.fullmatch(value):
        raise AuditError(
            f"audit action must be a dotted lowercase name such as 'prompt.label.move', "
            f"got {value!r}"
        )
    return value


def _details(value: Mapping[str, Any] | None) -> str:
    if value is None:
        return "{}"
    if not isinstance(value, Mapping):
        raise AuditError(f"audit details must be a mapping, got {type(value).__name__}")
    try:
        text = orjson.dumps(dict(value), default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError as exc:
        raise AuditError(f"audit details cannot be stored as JSON: {exc}") from None
    if len(text) > MAX_DETAILS_BYTES:
        raise AuditError(f"audit details are larger than {MAX_DETAILS_BYTES} bytes as JSON")
    return text
