"""The trace, session and user JSON API, read from the ``traces`` table.

``GET /api/traces``                 trace summaries, newest first; filters ``project``,
                                    ``session_id``, ``user_id``, ``status`` (error|ok),
                                    ``name`` (root span), ``since``/``until`` (ISO 8601,
                                    naive means UTC, ``until`` exclusive), ``tag``
``GET /api/traces/{trace_id}``      every span, the span tree, the summary and the scores
``GET /api/sessions``               sessions, most recently active first; ``project``
``GET /api/sessions/{session_id}``  the session's traces in the order they started
``GET /api/users``                  end users, most recently active first; ``project``

Lists take ``limit`` and ``offset`` and answer ``total`` and ``has_more``. Times are
ISO 8601 UTC with microseconds and a trailing ``Z``. Bad parameters are a 400 naming the
parameter.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..api_errors import NotFound
from ..store import (
    Page,
    QuerySource,
    TraceFilter,
    list_sessions,
    list_traces,
    list_users,
    session_traces,
    span_tree,
    trace_scores,
    trace_spans,
    trace_summary,
)
from ..store.root_cause import trace_root_cause
from ..times import maybe_utc
from .decode import BadRequest
from .errors import ApiRoute
from .responses import json_response
from .schemas import SessionPage, SessionTraces, TraceDetail, TracePage, UserPage

MAX_LIMIT = 1000
MAX_OFFSET = 10_000_000
MAX_VALUE_CHARS = 1000
TIME_KEYS = ("start_time", "end_time", "first_seen", "last_seen", "created_at")
_HEX = frozenset("0123456789abcdef")

Text = Annotated[str | None, Query(max_length=MAX_VALUE_CHARS)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Since = Annotated[str | None, Query(description="ISO 8601; naive means UTC; inclusive")]
Until = Annotated[str | None, Query(description="ISO 8601; naive means UTC; exclusive")]


def trace_routes(store: QuerySource) -> APIRouter:
    """The trace, session and user routes, reading ``store`` (a file store or a lake)."""
    router = APIRouter(route_class=ApiRoute, tags=["traces"])

    @router.get("/api/traces", response_model=TracePage)
    async def get_traces(
        project: Text = None,
        session_id: Text = None,
        user_id: Text = None,
        status: Literal["error", "ok"] | None = None,
        name: Text = None,
        since: Since = None,
        until: Until = None,
        tag: Text = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Response:
        """Trace summaries, newest first."""
        where = trace_filter(project, session_id, user_id, status, name, since, until, tag)
        page = await run_in_threadpool(
            lambda: list_traces(store, where, limit=limit, offset=offset)
        )
        return json_response(_page_json(page, "traces"))

    @router.get("/api/traces/{trace_id}", response_model=TraceDetail)
    async def get_trace(trace_id: str) -> Response:
        """Every span of the trace, its tree, summary, scores and root cause."""
        trace_id = trace_id.lower()
        if len(trace_id) != 32 or not set(trace_id) <= _HEX:
            raise BadRequest(400, "trace id must be 32 hex characters")
        return json_response(await run_in_threadpool(_trace_detail, store, trace_id))

    @router.get("/api/sessions", response_model=SessionPage)
    async def get_sessions(project: Text = None, limit: Limit = 50, offset: Offset = 0) -> Response:
        """Sessions, most recently active first."""
        page = await run_in_threadpool(
            lambda: list_sessions(store, project=project, limit=limit, offset=offset)
        )
        return json_response(_page_json(page, "sessions"))

    @router.get("/api/sessions/{session_id:path}", response_model=SessionTraces)
    async def get_session(
        session_id: str, project: Text = None, limit: Limit = 200, offset: Offset = 0
    ) -> Response:
        """The session's traces in the order they started."""
        if len(session_id) > MAX_VALUE_CHARS:
            raise BadRequest(400, f"session id is longer than {MAX_VALUE_CHARS} characters")
        page = await run_in_threadpool(
            lambda: session_traces(store, session_id, project=project, limit=limit, offset=offset)
        )
        if page.total == 0:
            raise NotFound(f"no session {session_id}")
        return json_response({"session_id": session_id, **_page_json(page, "traces")})

    @router.get("/api/users", response_model=UserPage)
    async def get_users(project: Text = None, limit: Limit = 50, offset: Offset = 0) -> Response:
        """End users, most recently active first."""
        page = await run_in_threadpool(
            lambda: list_users(store, project=project, limit=limit, offset=offset)
        )
        return json_response(_page_json(page, "users"))

    return router


def _trace_detail(store: QuerySource, trace_id: str) -> dict[str, Any]:
    spans = trace_spans(store, trace_id)
    if not spans:
        raise NotFound(f"no trace {trace_id}")
    summary = trace_summary(store, trace_id)
    return {
        "trace_id": trace_id,
        "summary": with_iso_times(summary) if summary else None,
        "spans": spans,
        "tree": span_tree(spans),
        "scores": [with_iso_times(score) for score in trace_scores(store, trace_id)],
        "root_cause": trace_root_cause(store, trace_id),
    }


def trace_filter(
    project: str | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    status: str | None = None,
    name: str | None = None,
    since: str | None = None,
    until: str | None = None,
    tag: str | None = None,
) -> TraceFilter:
    """The trace filter the query parameters name; BadRequest (400) naming a bad one."""
    if status not in (None, "error", "ok"):
        raise BadRequest(400, f"status must be 'error' or 'ok', got {status[:40]!r}")
    start = parse_time(since, "since")
    end = parse_time(until, "until")
    if start is not None and end is not None and end <= start:
        raise BadRequest(400, "until must be later than since")
    return TraceFilter(
        project=project,
        session_id=session_id,
        user_id=user_id,
        has_errors=None if status is None else status == "error",
        name=name,
        since=start,
        until=end,
        tag=tag,
    )


def parse_time(raw: str | None, name: str) -> dt.datetime | None:
    """An ISO 8601 time as naive UTC (the store's convention); None when absent or empty."""
    if raw is None or not raw.strip():
        return None
    moment = maybe_utc(raw)
    if moment is None:
        raise BadRequest(
            400, f"{name} must be an ISO 8601 time like 2026-01-01T00:00:00Z, got {raw[:40]!r}"
        )
    return moment


def iso_utc(moment: dt.datetime) -> str:
    """A naive-UTC (or aware) time as ``2026-01-01T00:00:00.000000Z``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def with_iso_times(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with its time fields written by ``iso_utc``."""
    for key in TIME_KEYS:
        value = record.get(key)
        if isinstance(value, dt.datetime):
            record[key] = iso_utc(value)
    return record


def _page_json(page: Page, key: str) -> dict[str, Any]:
    return {
        key: [with_iso_times(row) for row in page.rows],
        "limit": page.limit,
        "offset": page.offset,
        "total": page.total,
        "has_more": page.has_more,
    }
