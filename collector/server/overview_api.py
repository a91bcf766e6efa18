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
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..store import QuerySource
from ..store.overview import BUCKET_LADDER_S, OverviewFilter, data_extent, traffic
from ..store.overview_scores import DEFAULT_FACET_LIMIT, facets, score_trends
from ..store.root_cause import root_cause_counts
from .decode import BadRequest
from .errors import ApiRoute
from .responses import json_response
from .schemas import Reply
from .traces_api import Since, Text, Until, iso_utc, parse_time

MAX_BUCKET_SECONDS = BUCKET_LADDER_S[-1]
BucketSeconds = Annotated[
    int | None,
    Query(ge=1, le=MAX_BUCKET_SECONDS, description="Left out: chosen for about 60 buckets."),
]
FacetLimit = Annotated[int, Query(ge=1, le=500)]
T = TypeVar("T")


def values_filter(
    since: Since = None,
    until: Until = None,
    project: Text = None,
    service: Text = None,
    model: Text = None,
    session_id: Text = None,
    user_id: Text = None,
    tag: Text = None,
) -> OverviewFilter:
    """The Overview filter the query parameters name; BadRequest (400) naming a bad one."""
    return _filter(
        parse_time(since, "since"),
        parse_time(until, "until"),
        project=project,
        service=service,
        model=model,
        session_id=session_id,
        user_id=user_id,
        tag=tag,
    )


def window_filter(since: Since = None, until: Until = None) -> OverviewFilter:
    """A time window alone (the routes that take no value filters)."""
    return _filter(parse_time(since, "since"), parse_time(until, "until"))


def _filter(since: dt.datetime | None, until: dt.datetime | None, **values: Any) -> OverviewFilter:
    try:
        return OverviewFilter(since=since, until=until, **values)
    except ValueError as exc:
        raise BadRequest(400, str(exc)) from None


Values = Annotated[OverviewFilter, Depends(values_filter)]
Window = Annotated[OverviewFilter, Depends(window_filter)]


class OverviewReply(Reply):
    """Traffic per bucket (``/api/overview``) or score trends (``/api/overview/scores``)."""

    filters: dict[str, Any]


class RootCauseReply(Reply):
    """Failing traces counted by the step that went wrong first."""

    steps: list[dict[str, Any]]


def overview_routes(store: QuerySource) -> APIRouter:
    """The Overview's routes, reading ``store`` (a file store or a lake)."""
    router = APIRouter(route_class=ApiRoute, tags=["overview"])

    @router.get("/api/overview", response_model=OverviewReply)
    async def get_traffic(where: Values, bucket_seconds: BucketSeconds = None) -> Response:
        """Volume, errors, latency p50/p95, tokens and cost per bucket."""
        found = await _answer(lambda: traffic(store, where, bucket_seconds))
        return json_response({"filters": _utc_times(where.applied()), **found})

    @router.get("/api/overview/scores", response_model=OverviewReply)
    async def get_scores(where: Values, bucket_seconds: BucketSeconds = None) -> Response:
        """Per evaluator: scores, mean and pass rate per bucket."""
        found = await _answer(lambda: score_trends(store, where, bucket_seconds))
        return json_response({"filters": _utc_times(where.applied()), **found})

    @router.get("/api/overview/facets", response_model=Reply)
    async def get_facets(
        window: Window, project: Text = None, limit: FacetLimit = DEFAULT_FACET_LIMIT
    ) -> Response:
        """The most frequent projects, services, tags (trace counts) and models (calls)."""
        return json_response(
            await _answer(lambda: facets(store, window.since, window.until, limit, project=project))
        )

    @router.get("/api/overview/root_causes", response_model=RootCauseReply)
    async def get_root_causes(
        window: Window, project: Text = None, limit: Annotated[int, Query(ge=1, le=500)] = 20
    ) -> Response:
        """Failing traces counted by the step that went wrong first."""
        steps = await _answer(
            lambda: root_cause_counts(
                store, since=window.since, until=window.until, project=project, limit=limit
            )
        )
        return json_response({"steps": steps})

    @router.get("/api/overview/extent", response_model=Reply)
    async def get_extent() -> Response:
        """The earliest and latest trace start and the trace count."""
        return json_response(await _answer(lambda: data_extent(store)))

    return router


async def _answer(work: Callable[[], T]) -> Any:
    """``work`` run off the event loop, its times in UTC; a window the store refuses (too
    many buckets) is the caller's 400."""
    try:
        return _utc_times(await run_in_threadpool(work))
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
