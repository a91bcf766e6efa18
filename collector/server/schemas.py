"""Request and response models of the collector's own JSON routes (they make /openapi.json).

Responses allow fields beyond the ones named here, so a column added to a store query
reaches clients before its model names it; tests validate real replies against these
models so the documented fields stay true.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Reply(BaseModel):
    """Base of every response model: unknown fields are kept, not dropped."""

    model_config = ConfigDict(extra="allow")


class ErrorReply(Reply):
    """Every error: ``{"error": message, ...details}``."""

    error: str


class PageReply(Reply):
    """The paging fields of every list."""

    limit: int
    offset: int
    total: int
    has_more: bool


class TraceSummaryModel(Reply):
    """One trace: its root span, timing, counts, tokens, cost and previews."""

    trace_id: str
    project: str | None = None
    root_name: str | None = None
    service_name: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    duration_ms: float | None = None
    span_count: int | None = None
    error_count: int | None = None
    total_tokens: int | None = None
    cost_usd: float | None = None
    session_id: str | None = None
    user_id: str | None = None
    tags: list[str] | None = None
    input_preview: str | None = None
    output_preview: str | None = None


class TracePage(PageReply):
    """``GET /api/traces``."""

    traces: list[TraceSummaryModel]


class TraceDetail(Reply):
    """``GET /api/traces/{trace_id}``: spans, tree, summary, scores and root cause."""

    trace_id: str
    summary: TraceSummaryModel | None
    spans: list[dict[str, Any]]
    tree: list[dict[str, Any]]
    scores: list[dict[str, Any]]
    root_cause: dict[str, Any] | None = None


class SessionModel(Reply):
    """One session's activity."""

    session_id: str
    trace_count: int
    first_seen: str | None = None
    last_seen: str | None = None
    error_count: int | None = None
    users: list[str] | None = None


class SessionPage(PageReply):
    """``GET /api/sessions``."""

    sessions: list[SessionModel]


class SessionTraces(PageReply):
    """``GET /api/sessions/{session_id}``: the session's traces in start order."""

    session_id: str
    traces: list[TraceSummaryModel]


class UserModel(Reply):
    """One end user's activity."""

    user_id: str
    trace_count: int
    session_count: int | None = None
    last_seen: str | None = None


class UserPage(PageReply):
    """``GET /api/users``."""

    users: list[UserModel]


class SqlRequest(BaseModel):
    """``POST /api/sql``: one read-only statement."""

    model_config = ConfigDict(extra="forbid")

    sql: str = Field(min_length=1, description="One SELECT (or WITH ... SELECT) statement.")


class SqlResult(Reply):
    """The statement's columns and rows; ``truncated`` when the row cap cut it."""

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool


class HealthReply(Reply):
    """``GET /health``: the collector's state (no key needed)."""

    status: str
    version: str
    db_path: str
    pending_rows: int
    inflight_requests: int
    inflight_bytes: int
    inflight_budget_bytes: int
    refused_overloaded: int
    commits: int
    rows_written: int
    rejected_spans: int
    warned_spans: int
    retention: dict[str, Any] | None = None


class WhoamiReply(Reply):
    """``GET /api/whoami``: the caller's key (or the instance admin)."""

    admin: bool
    project: str | None
    role: str
    name: str | None
    key_id: str | None = None


class KeyModel(Reply):
    """An API key without its secret."""

    key_id: str
    project: str
    role: str
    name: str | None = None


class KeyCreateRequest(BaseModel):
    """``POST /api/keys``: a key for ``project`` with ``role`` (ingest, read, review, admin)."""

    project: str | None = None
    role: str | None = "ingest"
    name: str | None = None


class CreatedKey(KeyModel):
    """The new key; ``token`` is shown this once."""

    token: str


class DeleteRequest(Reply):
    """``POST /api/admin/delete``: any of ``older_than`` (``30d``), ``project``, ``user_id``
    (combined with AND); ``dry_run`` reports without deleting."""

    older_than: str | None = None
    project: str | None = None
    user_id: str | None = None
    dry_run: bool = False


class AuditEntryModel(Reply):
    """One administrative action."""

    action: str
    actor: str | None = None
    target: str | None = None


class AuditPage(Reply):
    """``GET /api/audit``."""

    entries: list[AuditEntryModel]


class DeletionReportModel(Reply):
    """What a deletion removed (or would remove, in a dry run), counted per table."""

    selection: dict[str, Any]
    dry_run: bool
    deleted: dict[str, int]
    total_deleted: int
