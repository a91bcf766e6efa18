"""``GET /api/audit``: the audit log of administrative actions, newest first.

Query parameters (all optional): ``action`` (exact, or a dotted prefix such as ``prompt``),
``actor``, ``target``, ``project``, ``since``/``until`` (ISO 8601; naive means UTC) and
``limit`` (default 100, at most 10,000). Answers ``{"entries": [...]}``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..store import AuditError, QueryTimeout, audit_entries
from ..store.audit import MAX_ENTRIES
from .decode import BadRequest
from .responses import json_error, json_response
from .traces_api import parse_time

if TYPE_CHECKING:
    from .app import Collector

log = logging.getLogger(__name__)

FILTERS = ("action", "actor", "target", "project")
MAX_FILTER_CHARS = 1000


def audit_routes(collector: Collector) -> list[BaseRoute]:
    """The audit route, bound to ``collector``'s store."""

    async def list_audit(request: Request) -> Response:
        try:
            params = request.query_params
            filters = {name: _text(params.get(name), name) for name in FILTERS}
            since, until = (
                parse_time(params.get("since"), "since"),
                parse_time(params.get("until"), "until"),
            )
            limit = _limit(params.get("limit"))
            entries = await run_in_threadpool(
                lambda: audit_entries(
                    collector.store, since=since, until=until, limit=limit, **filters
                )
            )
        except BadRequest as exc:
            return json_error(exc.status, exc.message)
        except AuditError as exc:
            return json_error(400, str(exc))
        except QueryTimeout as exc:
            return json_error(503, str(exc))
        except Exception as exc:  # the collector answers every request; it never dies on one
            log.exception("/api/audit failed")
            return json_error(500, f"query failed: {type(exc).__name__}")
        return json_response({"entries": [entry.to_dict() for entry in entries]})

    return [Route("/api/audit", list_audit, methods=["GET"])]


def _text(raw: str | None, name: str) -> str | None:
    if raw is None or raw == "":
        return None
    if len(raw) > MAX_FILTER_CHARS:
        raise BadRequest(400, f"{name} is longer than {MAX_FILTER_CHARS} characters")
    return raw


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return 100
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(400, f"limit must be an integer, got {raw[:40]!r}") from None
    if not 1 <= value <= MAX_ENTRIES:
        raise BadRequest(400, f"limit must be between 1 and {MAX_ENTRIES}, got {value}")
    return value
