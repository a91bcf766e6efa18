"""``GET /api/audit``: the audit log of administrative actions, newest first.

Query parameters (all optional): ``action`` (exact, or a dotted prefix such as ``prompt``),
``actor``, ``target``, ``project``, ``since``/``until`` (ISO 8601; naive means UTC) and
``limit`` (default 100, at most 10,000). Answers ``{"entries": [...]}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..store import AuditError, audit_entries
from ..store.audit import MAX_ENTRIES
from .decode import BadRequest
from .errors import ApiRoute
from .responses import json_response
from .schemas import AuditPage
from .traces_api import Since, Text, Until, parse_time

if TYPE_CHECKING:
    from .app import Collector


def audit_routes(collector: Collector) -> APIRouter:
    """The audit route, bound to ``collector``'s store."""
    router = APIRouter(route_class=ApiRoute, tags=["governance"])

    @router.get("/api/audit", response_model=AuditPage)
    async def get_audit(
        action: Text = None,
        actor: Text = None,
        target: Text = None,
        project: Text = None,
        since: Since = None,
        until: Until = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ENTRIES)] = 100,
    ) -> Response:
        """The audit log of administrative actions, newest first."""
        start, end = parse_time(since, "since"), parse_time(until, "until")
        try:
            entries = await run_in_threadpool(
                lambda: audit_entries(
                    collector.store,
                    since=start,
                    until=end,
                    limit=limit,
                    action=action,
                    actor=actor,
                    target=target,
                    project=project,
                )
            )
        except AuditError as exc:
            raise BadRequest(400, str(exc)) from None
        return json_response({"entries": [entry.to_dict() for entry in entries]})

    return router
