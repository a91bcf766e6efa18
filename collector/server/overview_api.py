"""The Overview's JSON API: traffic over time, score trends per evaluator, filter values.

``GET /api/overview``          volume, errors, latency p50/p95, tokens and cost per bucket
``GET /api/overview/scores``   per evaluator: scores, mean, pass rate per bucket
``GET /api/overview/facets``   the most frequent projects, services, tags (trace counts) and
                               models (call counts)
``GET /api/overview/root_causes``  failing traces counted by the step that went wrong first
``GET /api/overview/extent``   the earliest and latest trace start and the trace count

All three take ``since`` and ``until`` (ISO 8601; naive means UTC; ``until`` exclusive) and
answer times as ISO 8601 UTC with a trailing ``Z``, like the trace API;
the first two also ``project``, ``service``, ``model``, ``session_id``, ``user_id``, ``tag``
and ``bucket_seconds`` (chosen for about 60 buckets when left out). Bad parameters are a
400 naming the parameter; nothing here writes.
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

from ..store.overview import BUCKET_LADDER_S, OverviewFilter, data_extent, traffic
from ..store.overview_scores import DEFAULT_FACET_LIMIT, facets, score_trends
from ..store.root_cause import root_cause_counts
from ..store.store import QueryTimeout
from .decode import BadRequest
from .params import int_param
from .responses import json_error, json_response
from .traces_api import iso_utc, parse_time

if TYPE_CHECKING:
    from .app import Collector

log = logging.getLogger(__name__)

MAX_VALUE_CHARS = 1000
MAX_BUCKET_SECONDS = BUCKET_LADDER_S[-1]
FILTER_PARAMS = ("project", "service", "model", "session_id", "user_id", "tag")

Handler = Callable[[Request], Awaitable[Response]]


def overview_routes(collector: Collector) -> list[BaseRoute]:
    """The Overview's routes, bound to ``collector``'s store."""
    return [
        Route("/api/overview", _handler(collector, _traffic), methods=["GET"]),
        Route("/api/overview/scores", _handler(collector, _scores), methods=["GET"]),
        Route("/api/overview/facets", _handler(collector, _facets), methods=["GET"]),
        Route("/api/overview/root_causes", _handler(collector, _root_causes), methods=["GET"]),
        Route("/api/overview/extent", _handler(collector, _extent), methods=["GET"]),
    ]


Work = Callable[["Collector", Request], Callable[[], dict[str, Any]]]


def _handler(collector: Collector, work: Work) -> Handler:
    async def handle(request: Request) -> Response:
        try:
            job = work(collector, request)
            payload = _utc_times(await run_in_threadpool(job))
        except BadRequest as exc:
            return json_error(exc.status, exc.message)
        except ValueError as exc:  # a window the store refuses (too many buckets, ...)
            return json_error(400, str(exc))
        except QueryTimeout as exc:
            return json_error(503, str(exc))
        except Exception as exc:  # the collector answers every request; it never dies on one
            log.exception("overview query failed")
            return json_error(500, f"overview query failed: {type(exc).__name__}")
        return json_response(payload)

    return handle


def _traffic(collector: Collector, request: Request) -> Callable[[], dict[str, Any]]:
    overview_filter = parse_filter(request)
    bucket_seconds = _bucket_seconds(request)
    store = collector.store
    return lambda: {
        "filters": overview_filter.applied(),
        **traffic(store, overview_filter, bucket_seconds),
    }


def _scores(collector: Collector, request: Request) -> Callable[[], dict[str, Any]]:
    overview_filter = parse_filter(request)
    bucket_seconds = _bucket_seconds(request)
    store = collector.store
    return lambda: {
        "filters": overview_filter.applied(),
        **score_trends(store, overview_filter, bucket_seconds),
    }


def _root_causes(collector: Collector, request: Request) -> Callable[[], dict[str, Any]]:
    window = parse_filter(request, values=False)
    limit = int_param(request, "limit", 20, 1, 500)
    project = request.query_params.get("project") or None
    store = collector.store
    return lambda: {
        "steps": root_cause_counts(
            store, since=window.since, until=window.until, project=project, limit=limit
        )
    }


def _facets(collector: Collector, request: Request) -> Callable[[], dict[str, Any]]:
    window = parse_filter(request, values=False)
    limit = int_param(request, "limit", DEFAULT_FACET_LIMIT, 1, 500)
    store = collector.store
    project = request.query_params.get("project") or None
    return lambda: facets(store, window.since, window.until, limit, project=project)


def _extent(collector: Collector, request: Request) -> Callable[[], dict[str, Any]]:
    store = collector.store
    return lambda: data_extent(store)


def parse_filter(request: Request, *, values: bool = True) -> OverviewFilter:
    """The filter named by the query string; ``BadRequest`` (400) naming a bad parameter."""
    params = request.query_params
    since = parse_time(params.get("since"), "since")
    until = parse_time(params.get("until"), "until")
    chosen: dict[str, str] = {}
    if values:
        for name in FILTER_PARAMS:
            raw = params.get(name)
            if raw is None or raw == "":
                continue
            if len(raw) > MAX_VALUE_CHARS:
                raise BadRequest(400, f"{name} is longer than {MAX_VALUE_CHARS} characters")
            chosen[name] = raw
    try:
        return OverviewFilter(since=since, until=until, **chosen)
    except ValueError as exc:
        raise BadRequest(400, str(exc)) from None


def _utc_times(value: Any) -> Any:
    """``value`` with every datetime written as ISO 8601 UTC with a ``Z``, as the trace API
    writes them."""
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    if isinstance(value, dict):
        return {k: _utc_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_utc_times(v) for v in value]
    return value


def _bucket_seconds(request: Request) -> int | None:
    if request.query_params.get("bucket_seconds") in (None, ""):
        return None
    return int_param(request, "bucket_seconds", 0, 1, MAX_BUCKET_SECONDS)
