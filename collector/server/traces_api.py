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
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..store import (
    Page,
    QueryTimeout,
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
from .params import int_param
from .responses import json_error, json_response

if TYPE_CHECKING:
    from .app import Collector

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]
Work = Callable[[], dict[str, Any]]

MAX_LIMIT = 1000
MAX_OFFSET = 10_000_000
MAX_VALUE_CHARS = 1000
TIME_KEYS = ("start_time", "end_time", "first_seen", "last_seen", "created_at")
_HEX = frozenset("0123456789abcdef")


def trace_routes(collector: Collector) -> list[BaseRoute]:
    """The trace, session and user routes, bound to ``collector``'s store."""
    return [
        Route("/api/traces", _handler(collector, _list_traces), methods=["GET"]),
        Route("/api/traces/{trace_id}", _handler(collector, _get_trace), methods=["GET"]),
        Route("/api/sessions", _handler(collector, _list_sessions), methods=["GET"]),
        Route(
            "/api/sessions/{session_id:path}", _handler(collector, _get_session), methods=["GET"]
        ),
        Route("/api/users", _handler(collector, _list_users), methods=["GET"]),
    ]


class NotFound(Exception):
    """The thing asked for does not exist (answered 404)."""


def _handler(collector: Collector, plan: Callable[[Collector, Request], Work]) -> Handler:
    async def handle(request: Request) -> Response:
        try:
            work = plan(collector, request)  # checks the parameters
            payload = await run_in_threadpool(work)
        except BadRequest as exc:
            return json_error(exc.status, exc.message)
        except NotFound as exc:
            return json_error(404, str(exc))
        except QueryTimeout as exc:
            return json_error(503, str(exc))
        except Exception as exc:  # the collector answers every request; it never dies on one
            log.exception("%s failed", request.url.path)
            return json_error(500, f"query failed: {type(exc).__name__}")
        return json_response(payload)

    return handle


def _list_traces(collector: Collector, request: Request) -> Work:
    where = parse_trace_filter(request)
    limit, offset = _page_params(request, 50)
    store = collector.store
    return lambda: _page_json(list_traces(store, where, limit=limit, offset=offset), "traces")


def _get_trace(collector: Collector, request: Request) -> Work:
    trace_id = request.path_params["trace_id"].lower()
    if len(trace_id) != 32 or not set(trace_id) <= _HEX:
        raise BadRequest(400, "trace id must be 32 hex characters")
    store = collector.store

    def work() -> dict[str, Any]:
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

    return work


def _list_sessions(collector: Collector, request: Request) -> Work:
    project = _text_param(request, "project")
    limit, offset = _page_params(request, 50)
    store = collector.store
    return lambda: _page_json(
        list_sessions(store, project=project, limit=limit, offset=offset), "sessions"
    )


def _get_session(collector: Collector, request: Request) -> Work:
    session_id = request.path_params["session_id"]
    if len(session_id) > MAX_VALUE_CHARS:
        raise BadRequest(400, f"session id is longer than {MAX_VALUE_CHARS} characters")
    project = _text_param(request, "project")
    limit, offset = _page_params(request, 200)
    store = collector.store

    def work() -> dict[str, Any]:
        page = session_traces(store, session_id, project=project, limit=limit, offset=offset)
        if page.total == 0:
            raise NotFound(f"no session {session_id}")
        return {"session_id": session_id, **_page_json(page, "traces")}

    return work


def _list_users(collector: Collector, request: Request) -> Work:
    project = _text_param(request, "project")
    limit, offset = _page_params(request, 50)
    store = collector.store
    return lambda: _page_json(
        list_users(store, project=project, limit=limit, offset=offset), "users"
    )


def parse_trace_filter(request: Request) -> TraceFilter:
    """The trace filter named by the query string; BadRequest (400) naming a bad parameter."""
    status = _text_param(request, "status")
    if status not in (None, "error", "ok"):
        raise BadRequest(400, f"status must be 'error' or 'ok', got {status[:40]!r}")
    since = parse_time(request.query_params.get("since"), "since")
    until = parse_time(request.query_params.get("until"), "until")
    if since is not None and until is not None and until <= since:
        raise BadRequest(400, "until must be later than since")
    return TraceFilter(
        project=_text_param(request, "project"),
        session_id=_text_param(request, "session_id"),
        user_id=_text_param(request, "user_id"),
        has_errors=None if status is None else status == "error",
        name=_text_param(request, "name"),
        since=since,
        until=until,
        tag=_text_param(request, "tag"),
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


def _page_params(request: Request, default_limit: int) -> tuple[int, int]:
    return (
        int_param(request, "limit", default_limit, 1, MAX_LIMIT),
        int_param(request, "offset", 0, 0, MAX_OFFSET),
    )


def _text_param(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if len(raw) > MAX_VALUE_CHARS:
        raise BadRequest(400, f"{name} is longer than {MAX_VALUE_CHARS} characters")
    return raw
